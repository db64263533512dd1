import { join } from 'node:path';
import { readFileArg, UsageError, type OptionValues } from '@tapfleet/runtime/light';
import { scriptParamsProblem, type TapfleetConfig } from '@tapfleet/schemas';
import { formatDiagnostic, type BuildOptions, type Diagnostic } from '@tapfleet/compiler/light';
import { localSigningKey as signingKeyAt } from '../signing-key.js';

export const BINARY_OPTION = { type: 'string' as const, multiple: true, description: 'path of a tapset binary placeholder, e.g. postgres=/usr/lib/postgresql/15/bin/postgres', valueName: 'NAME=PATH' };

export const PROGRAM_OPTION = { type: 'string' as const, short: 'e', description: "the script itself instead of a FILE, as bpftrace -e (diagnostics name it '-e')", valueName: 'PROGRAM' };

/** What `run`, `check` and `compile` take positionally, in bpftrace's order: the script, then its parameters ($1, $2, ...). */
export const SCRIPT_ARGS = 'FILE [PARAM...] | -e PROGRAM [PARAM...]';

/**
 * The script (FILE, or `-e PROGRAM`) and its positional parameters: every word after it, `$1` first.
 * A parameter that starts with `-` goes after `--` (`tapfleet run s.tap -- -5`), as the options end there.
 */
export function readScript(values: OptionValues, positionals: string[]): { file: string; text: string; params: string[] } {
  const program = values.program;
  let script: { file: string; text: string };
  let params: string[];
  if (typeof program === 'string') {
    script = { file: '-e', text: program };
    params = positionals;
  } else {
    if (positionals.length === 0) throw new UsageError('give a script FILE (or the script itself with -e PROGRAM)');
    script = readFileArg(positionals.slice(0, 1));
    params = positionals.slice(1);
  }
  // The API's bounds (a deployment's params): the same words make the same bundle here and in the fleet.
  const problem = scriptParamsProblem(params);
  if (problem) throw new UsageError(problem);
  return { ...script, params };
}

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
export const localSigningKey = (config: TapfleetConfig) => signingKeyAt(signingKeyPath(config));

export function printDiagnostics(diags: Diagnostic[]): void {
  for (const d of diags) process.stderr.write(`${formatDiagnostic(d)}\n`);
}

/** clang and its time allowance from the config's `compiler` section. */
export const buildOptions = (config: TapfleetConfig): BuildOptions => ({ clang: config.compiler.clang, timeoutMs: config.compiler.clangTimeoutMs });
