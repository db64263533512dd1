import { join } from 'node:path';
import { readFileArg, UsageError, type OptionValues } from '@tapfleet/runtime';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { formatDiagnostic, loadOrCreateSigningKey, type BuildOptions, type Diagnostic } from '@tapfleet/compiler/light';

export const BINARY_OPTION = { type: 'string' as const, multiple: true, description: 'path of a tapset binary placeholder, e.g. postgres=/usr/lib/postgresql/15/bin/postgres', valueName: 'NAME=PATH' };

export const readScript = (positionals: string[]) => readFileArg(positionals);

export function binaryPaths(values: OptionValues): Record<string, string> {
  const list = (values.binary as string[] | undefined) ?? [];
  return Object.fromEntries(
    list.map((kv) => {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\/.+)$/.exec(kv);
      if (!m) throw new UsageError(`--binary takes NAME=/absolute/path, got '${kv}'`);
      return [m[1], m[2]];
    }),
  );
}

export const signingKeyPath = (config: TapfleetConfig) => join(config.dataDir, 'keys', 'signing-key.pem');
export const localSigningKey = (config: TapfleetConfig) => loadOrCreateSigningKey(signingKeyPath(config));

export function printDiagnostics(diags: Diagnostic[]): void {
  for (const d of diags) process.stderr.write(`${formatDiagnostic(d)}\n`);
}

/** clang and its time allowance from the config's `compiler` section. */
export const buildOptions = (config: TapfleetConfig): BuildOptions => ({ clang: config.compiler.clang, timeoutMs: config.compiler.clangTimeoutMs });
