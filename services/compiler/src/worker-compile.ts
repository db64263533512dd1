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
  /** Positional parameters (`$1`.., `$#`) of the deployment. */
  params?: readonly string[];
}

/** One long-lived worker thread running one job at a time; restarted after a crash. */
class CompileThread {
  private worker: Worker | undefined;
  /** Kernel profiles this worker holds (by key), so each 4 MB profile crosses once. */
  private readonly kernelsSent = new Set<number>();
  private current: { id: number; resolve: (r: WorkerResult) => void; reject: (e: Error) => void } | undefined;

  get busy(): boolean {
    return this.current !== undefined;
  }

  private start(): Worker {
    workersStarted++;
    const w = new Worker(new URL('./bundle/compile-worker.js', import.meta.url));
    w.on('message', (r: WorkerResult) => {
      if (r.id !== this.current?.id) return;
      const c = this.current;
      this.current = undefined;
      w.unref(); // idle: an idle worker must not keep a process alive
      c.resolve(r);
    });
    w.on('error', (e) => this.lost(w, e));
    w.on('exit', (code) => this.lost(w, new Error(`the compile worker exited (code ${code}) without an answer`)));
    this.kernelsSent.clear();
    this.worker = w;
    return w;
  }

  private lost(w: Worker, e: Error): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    const c = this.current;
    this.current = undefined;
    c?.reject(e);
  }

  run(job: Omit<WorkerJob, 'kernelKey' | 'kernel'>, kernel: KernelProfile): Promise<WorkerResult> {
    const w = this.worker ?? this.start();
    const kernelKey = keyOfKernel(kernel);
    const message: WorkerJob = this.kernelsSent.has(kernelKey) ? { ...job, kernelKey } : { ...job, kernelKey, kernel };
    this.kernelsSent.add(kernelKey);
    w.ref(); // a job in flight keeps the process alive until its answer
    return new Promise((resolve, reject) => {
      this.current = { id: job.id, resolve, reject };
      w.postMessage(message);
    });
  }

  /** Starts the thread ahead of its first job (module loading is most of a first compile's wait). */
  warm(): void {
    if (!this.worker) this.start().unref();
  }

  terminate(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }
}

/** Kernel profiles are keyed by identity: callers (the compile service) keep one object per profile digest. */
const kernelKeys = new WeakMap<KernelProfile, number>();
let nextKernelKey = 1;
function keyOfKernel(k: KernelProfile): number {
  let n = kernelKeys.get(k);
  if (n === undefined) kernelKeys.set(k, (n = nextKernelKey++));
  return n;
}

let workersStarted = 0;
/** How many worker threads were ever started in this process (a reused thread starts once). */
export const compileWorkersStarted = (): number => workersStarted;

/** Threads kept between jobs; callers (the compile queue) bound how many run at once. */
const threads: CompileThread[] = [];
const KEEP_IDLE = 4;
let nextJobId = 1;

/** Starts `n` idle compile threads now, so a long-running caller's first compile does not wait for them. */
export function warmCompileWorkers(n = 1): void {
  while (threads.length < Math.min(n, KEEP_IDLE)) threads.push(new CompileThread());
  threads.slice(0, n).forEach((t) => t.warm());
}

/**
 * compileBundle in a worker thread, so the caller's event loop stays free while the front
 * end runs (clang is a child process either way). Workers stay up between jobs. Throws what
 * compileBundle throws: CompileError (its cause a BuildTimeoutError when clang ran out of
 * time) or BuildError.
 */
export async function compileBundleInWorker(file: string, text: string, o: WorkerCompileOptions): Promise<Bundle> {
  const job = { id: nextJobId++, file, text, tapsetsDir: o.tapsetsDir, binaryPaths: o.binaryPaths, binaries: o.profiles.binaries, signingKeyPem: o.signingKey.export({ type: 'pkcs8', format: 'pem' }).toString(), build: o.build ?? {}, params: o.params ?? [] };
  let thread = threads.find((t) => !t.busy);
  if (!thread) threads.push((thread = new CompileThread()));
  let result: WorkerResult;
  try {
    result = await thread.run(job, o.profiles.kernel);
  } finally {
    const idle = threads.filter((t) => !t.busy);
    for (const t of idle.slice(KEEP_IDLE)) {
      t.terminate();
      threads.splice(threads.indexOf(t), 1);
    }
  }
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
