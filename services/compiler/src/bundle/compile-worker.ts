/**
 * Worker-thread entry: bundle builds (front end, clang, bundle) off the caller's event loop,
 * one job at a time, for as long as the pool keeps the thread. The front end is synchronous
 * and takes up to about a second on the largest script the limits allow; a control plane must
 * keep answering its API meanwhile. The thread stays up between jobs because starting one and
 * re-sending a 4 MB kernel profile cost ~0.5 s per compile.
 */
import { createPrivateKey } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { serializeBundle, type KernelProfile } from '@tapfleet/schemas';
import { CompileError } from '../diagnostics.js';
import { compileBundle } from '../compile-bundle.js';
import { loadTapsets } from '../tapsets.js';
import { BuildError, BuildTimeoutError } from './clang.js';
import type { WorkerJob, WorkerOutcome, WorkerResult } from './worker-messages.js';

/** Kernel profiles by the pool's key; a few builds at most live in one fleet at once. */
const kernels = new Map<number, KernelProfile>();
const MAX_KERNELS = 8;

async function run(job: WorkerJob): Promise<WorkerOutcome> {
  try {
    if (job.kernel) {
      if (kernels.size >= MAX_KERNELS) kernels.delete(kernels.keys().next().value!);
      kernels.set(job.kernelKey, job.kernel);
    }
    const kernel = kernels.get(job.kernelKey);
    if (!kernel) return { ok: false, kind: 'internal', message: `kernel profile ${job.kernelKey} was not sent to this worker`, stack: '' };
    const bundle = await compileBundle(job.file, job.text, {
      // Tapsets are read per job: a changed tapset file must be seen by the next compile.
      tapsets: loadTapsets(job.tapsetsDir).aliases,
      binaryPaths: job.binaryPaths,
      signingKey: createPrivateKey(job.signingKeyPem),
      profiles: { kernel, binaries: job.binaries },
      build: job.build,
      // Workers build for the control plane, that is for deployments: exit() has no run to end there.
      purpose: 'deploy',
      params: job.params,
    });
    return { ok: true, bundle: serializeBundle(bundle) };
  } catch (e) {
    if (e instanceof CompileError) {
      const sources: Record<string, string> = {};
      for (const d of e.diagnostics) sources[d.span.source.file] = d.span.source.text;
      return {
        ok: false, kind: 'compile', sources,
        diagnostics: e.diagnostics.map((d) => ({ severity: d.severity, message: d.message, ...(d.hint ? { hint: d.hint } : {}), file: d.span.source.file, start: d.span.start, end: d.span.end })),
        ...(e.cause instanceof BuildTimeoutError ? { timedOut: { tool: e.cause.tool, timeoutMs: e.cause.timeoutMs } } : {}),
      };
    }
    if (e instanceof BuildError) return { ok: false, kind: 'build', message: e.message, stderr: e.stderr };
    return { ok: false, kind: 'internal', message: (e as Error).message, stack: (e as Error).stack ?? '' };
  }
}

parentPort!.on('message', (job: WorkerJob) => {
  void run(job).then((outcome) => parentPort!.postMessage({ id: job.id, ...outcome } satisfies WorkerResult));
});
