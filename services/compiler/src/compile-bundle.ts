import type { KeyObject } from 'node:crypto';
import type { BinaryProfile, KernelProfile } from '@tapfleet/schemas';
import type { Alias } from './ast.js';
import { CompileError, type Diagnostic } from './diagnostics.js';
import { frontEnd, pointTexts } from './compile.js';
import { referencedTargets } from './passes/resolve-points.js';
import { substituteBinaries } from './passes/resolve-aliases.js';
import { BuildError, buildBpfObject, type BuildOptions } from './bundle/clang.js';
import { buildFailureDiagnostics } from './bundle/build-failure.js';
import { checkObjectLimits } from './bundle/object-limits.js';
import { Diagnostics } from './diagnostics.js';
import { makeBundle, type Bundle } from './bundle/bundle.js';

export interface HostProfiles {
  kernel: KernelProfile;
  binaries: BinaryProfile[];
}

export type ScriptTargets = { binaries: string[]; tracepoints: string[] };

/**
 * Parses the script once and answers, for each host's `$name` -> path table, the binaries and
 * tracepoints its probe points (aliases expanded, `$name` substituted) name: a deployment asks
 * this for every selected host, which must not mean a parse per host.
 */
export function targetsByHostPaths(file: string, text: string, tapsets: Alias[], params: readonly string[] = []): (binaryPaths: Record<string, string>) => ScriptTargets {
  const points = pointTexts(file, text, tapsets, params);
  return (binaryPaths) => referencedTargets(points.map((t) => substituteBinaries(t, binaryPaths)));
}

/** The targets of a script for one host's `$name` paths and the script's positional parameters. */
export function scriptTargets(file: string, text: string, tapsets: Alias[], binaryPaths: Record<string, string>, params: readonly string[] = []): ScriptTargets {
  return targetsByHostPaths(file, text, tapsets, params)(binaryPaths);
}

export interface CompileOptions {
  tapsets?: Alias[];
  binaryPaths?: Record<string, string>;
  signingKey: KeyObject;
  /** The target host's kernel and binaries: from its agent (the control plane) or read on this host (@tapfleet/local). */
  profiles: HostProfiles;
  ringBufferBytes?: number;
  usdtArgs?: 'direct' | 'libbpf';
  /** `deploy` for a fleet deployment (exit() is refused there); `tapfleet run` by default. */
  purpose?: 'run' | 'deploy';
  /** clang binary and time allowance (config `compiler`). */
  build?: BuildOptions;
  /** Positional parameters (`$1`.., `$#`): the words after the script on the command line. */
  params?: readonly string[];
  /** Told the warnings of a compile that succeeded (e.g. a positional parameter not given), which the bundle does not carry. */
  onWarnings?: (warnings: Diagnostic[]) => void;
}

/** Script + profiles -> signed bundle. Throws CompileError with every diagnostic when the script is wrong. */
export async function compileBundle(file: string, text: string, options: CompileOptions): Promise<Bundle> {
  const { profiles } = options;
  const fe = frontEnd({ file, text, kernel: profiles.kernel, binaries: profiles.binaries, tapsets: options.tapsets ?? [], binaryPaths: options.binaryPaths ?? {}, ...(options.ringBufferBytes ? { ringBufferBytes: options.ringBufferBytes } : {}), ...(options.usdtArgs ? { usdtArgs: options.usdtArgs } : {}), ...(options.purpose ? { purpose: options.purpose } : {}), ...(options.params ? { params: options.params } : {}) });
  if (!fe.c) throw new CompileError(fe.diagnostics);
  const source = fe.probes[0]!.span.source;
  let object: Buffer;
  try {
    object = await buildBpfObject(fe.c, options.build);
  } catch (e) {
    const diags = buildFailureDiagnostics(e, source, fe.c, fe.programs!);
    if (diags) throw new CompileError(diags.items, { cause: e });
    if (e instanceof BuildError)
      throw new BuildError(`clang failed on generated code (a compiler bug: please report it with the script): ${e.message}\n${e.stderr}`, e.stderr);
    throw e;
  }
  const limits = new Diagnostics();
  checkObjectLimits(object, fe.programs!, limits);
  if (limits.hasErrors) throw new CompileError(limits.items);
  const warnings = fe.diagnostics.filter((d) => d.severity === 'warning');
  if (warnings.length) options.onWarnings?.(warnings);
  return makeBundle(fe, text, object, profiles.kernel, profiles.binaries, options.signingKey, options.ringBufferBytes);
}
