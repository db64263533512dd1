import type { BinaryProfile, KernelProfile } from '@tapfleet/schemas';
import type { Diagnostic } from '../diagnostics.js';
import type { BuildOptions } from './clang.js';

/**
 * What a compile worker is given and answers. Both ends are this package's code in one
 * process (structured clone, no wire), so these are types rather than zod schemas.
 */
export interface WorkerJob {
  /** Matches the answer to its job: one worker serves many jobs, one at a time. */
  id: number;
  file: string;
  text: string;
  tapsetsDir: string;
  binaryPaths: Record<string, string>;
  /**
   * The kernel profile (~4 MB) crosses into a worker once: later jobs name it by `kernelKey`
   * and leave `kernel` out; the worker keeps the few it has seen.
   */
  kernelKey: number;
  kernel?: KernelProfile;
  binaries: BinaryProfile[];
  /** PKCS#8 PEM: a KeyObject does not cross into a worker by structured clone on every Node version. */
  signingKeyPem: string;
  build: BuildOptions;
  /** Positional parameters (`$1`.., `$#`). */
  params: readonly string[];
}

export interface WireDiagnostic extends Pick<Diagnostic, 'severity' | 'message' | 'hint'> {
  file: string;
  start: number;
  end: number;
}

export type WorkerResult = { id: number } & WorkerOutcome;

export type WorkerOutcome =
  | { ok: true; bundle: string }
  | { ok: false; kind: 'compile'; diagnostics: WireDiagnostic[]; sources: Record<string, string>; timedOut?: { tool: string; timeoutMs: number } }
  | { ok: false; kind: 'build'; message: string; stderr: string }
  | { ok: false; kind: 'internal'; message: string; stack: string };
