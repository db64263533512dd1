/**
 * Worker-thread entry: one bundle build (front end, clang, bundle) off the caller's event
 * loop. The front end is synchronous and takes up to about a second on the largest script
 * the limits allow; a control plane must keep answering its API meanwhile.
 */
import { createPrivateKey } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { serializeBundle } from '@tapfleet/schemas';
import { CompileError } from '../diagnostics.js';
import { compileBundle } from '../host-compile.js';
import { loadTapsets } from '../tapsets.js';
import { BuildError, BuildTimeoutError } from './clang.js';
import type { WorkerJob, WorkerResult } from './worker-messages.js';

async function run(job: WorkerJob): Promise<WorkerResult> {
  try {
    const bundle = await compileBundle(job.file, job.text, {
      tapsets: loadTapsets(job.tapsetsDir).aliases,
      binaryPaths: job.binaryPaths,
      signingKey: createPrivateKey(job.signingKeyPem),
      profiles: job.profiles,
      build: job.build,
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

parentPort!.postMessage(await run(workerData as WorkerJob));
