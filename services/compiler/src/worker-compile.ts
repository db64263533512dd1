import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { parseBundle, type BinaryProfile, type Bundle, type KernelProfile } from '@tapfleet/schemas';
import { BuildError, BuildTimeoutError, type BuildOptions } from './bundle/clang.js';
import type { WorkerJob, WorkerResult } from './bundle/worker-messages.js';
import { CompileError, type Diagnostic } from './diagnostics.js';
import { Source } from './source.js';

export interface WorkerCompileOptions {
  tapsetsDir: string;
  binaryPaths: Record<string, string>;
  profiles: { kernel: KernelProfile; binaries: BinaryProfile[] };
  signingKey: KeyObject;
  build?: BuildOptions;
}

/**
 * compileBundle in a worker thread, so the caller's event loop stays free while the front
 * end runs (clang is a child process either way). Throws what compileBundle throws:
 * CompileError (its cause a BuildTimeoutError when clang ran out of time) or BuildError.
 */
export async function compileBundleInWorker(file: string, text: string, o: WorkerCompileOptions): Promise<Bundle> {
  const job: WorkerJob = { file, text, tapsetsDir: o.tapsetsDir, binaryPaths: o.binaryPaths, profiles: o.profiles, signingKeyPem: o.signingKey.export({ type: 'pkcs8', format: 'pem' }).toString(), build: o.build ?? {} };
  const worker = new Worker(new URL('./bundle/compile-worker.js', import.meta.url), { workerData: job });
  const result = await new Promise<WorkerResult>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the compile worker exited (code ${code}) without an answer`)));
  }).finally(() => void worker.terminate());
  if (result.ok) return parseBundle(result.bundle);
  switch (result.kind) {
    case 'compile': {
      const sources = new Map(Object.entries(result.sources).map(([f, t]) => [f, new Source(f, t)]));
      const diagnostics: Diagnostic[] = result.diagnostics.map((d) => ({ severity: d.severity, message: d.message, ...(d.hint ? { hint: d.hint } : {}), span: { source: sources.get(d.file)!, start: d.start, end: d.end } }));
      throw new CompileError(diagnostics, result.timedOut ? { cause: new BuildTimeoutError(result.timedOut.tool, result.timedOut.timeoutMs) } : undefined);
    }
    case 'build': throw new BuildError(result.message, result.stderr);
    case 'internal': throw new Error(`compile worker: ${result.message}\n${result.stack}`);
  }
}
