import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { mapObjectName, type BundleManifest } from '@tapfleet/schemas';
import { RecordReader, type RunnerRecord } from './records.js';

/** Built by `tapfleet setup` (make -C agents/runner). */
export const RUNNER_BINARY = fileURLToPath(new URL('../build/tapfleet-runner', import.meta.url));

/** Which processes a bundle sees: a pid list, or everything in a cgroup v2 directory. */
export type ProcessScope = { pids: number[] } | { cgroup: string };

export interface RunnerOptions {
  objectPath: string;
  manifest: BundleManifest;
  /** Restrict uprobes and USDT to this process. */
  pid?: number;
  /** Only these processes fire probes (checked in the kernel, per hit). */
  scope?: ProcessScope;
  snapshotMs?: number;
  statsMs?: number;
  /** Per-program run count and run time (the governor's input); costs ~50-100 ns a hit. */
  runStats?: boolean;
  binary?: string;
}

/** The runner's command line, derived from the manifest alone. */
export function runnerArgs(o: RunnerOptions): string[] {
  const args = [o.objectPath];
  if (o.pid !== undefined) args.push('--pid', String(o.pid));
  if (o.scope && 'cgroup' in o.scope) args.push('--scope-cgroup', o.scope.cgroup);
  else if (o.scope) for (const p of o.scope.pids) args.push('--scope-pid', String(p));
  // Stack maps first: a snapshot's stacks are in hand before the aggregations keyed by them.
  for (const m of o.manifest.stacks ?? []) args.push('--map', m.name);
  for (const m of o.manifest.maps) args.push('--map', mapObjectName(m.name));
  if (o.snapshotMs) args.push('--snapshot-ms', String(o.snapshotMs));
  if (o.statsMs) args.push('--stats-ms', String(o.statsMs));
  if (o.runStats) args.push('--run-stats');
  for (const a of o.manifest.attach) {
    switch (a.kind) {
      case 'tracepoint': args.push('--tracepoint', a.program, a.category, a.event); break;
      case 'raw_tracepoint': args.push('--raw-tracepoint', a.program, a.name); break;
      case 'uprobe': case 'uretprobe':
        if (a.refCtrOffset) args.push(`--${a.kind}-ref`, a.program, a.binary, String(a.offset), String(a.refCtrOffset));
        else args.push(`--${a.kind}`, a.program, a.binary, String(a.offset));
        break;
      case 'usdt': args.push('--usdt', a.program, a.binary, a.provider, a.name); break;
      case 'perf_event': args.push('--perf-event', a.program, ...('hz' in a.sample ? ['hz', String(a.sample.hz)] : ['ns', String(a.sample.periodNs)])); break;
      case 'begin': if (a.kernel) args.push('--run-first', a.kernel); break; // its map writes; the rest runs in the owner
      default: break; // interval/end run in the owner, not the kernel
    }
  }
  return args;
}

/**
 * One runner child. Emits 'record' for every framed record and 'exit' with the code.
 * Closing stdin makes the runner detach and exit, so probes never outlive their owner.
 */
export class RunnerProcess extends EventEmitter<{ record: [RunnerRecord]; exit: [number | null, NodeJS.Signals | null]; stderr: [string] }> {
  private readonly child: ChildProcess;
  private readonly reader = new RecordReader();
  readonly exited: Promise<number | null>;

  constructor(options: RunnerOptions) {
    super();
    // Its own process group: a terminal's Ctrl-C reaches the owner only, which reads the maps before
    // it detaches the probes; the runner still ends with its owner (stdin EOF detaches and exits).
    this.child = spawn(options.binary ?? RUNNER_BINARY, runnerArgs(options), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.child.stdout!.on('data', (chunk: Buffer) => this.reader.push(chunk, (r) => this.emit('record', r)));
    this.child.stderr!.on('data', (chunk: Buffer) => this.emit('stderr', chunk.toString()));
    this.child.stdin!.on('error', () => {}); // the runner may already be gone; 'exit' reports it
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.emit('exit', code, signal);
        resolve(code);
      });
      this.child.on('error', (e) => {
        this.emit('stderr', `cannot start runner: ${e.message}`);
        resolve(null);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private send(line: string): void {
    if (this.child.stdin?.writable) this.child.stdin.write(`${line}\n`);
  }

  snapshot(): void {
    this.send('snapshot');
  }
  stats(): void {
    this.send('stats');
  }
  /** Runs an end or interval probe's program (its map writes) once, in order with the other commands. */
  run(program: string): void {
    this.send(`run ${program}`);
  }

  /** Asks for a `sync` record, which comes after every record the commands before it caused (a run program's printf() records included). */
  sync(): void {
    this.send('sync');
  }

  /** Empties an aggregation map (`clear(@m)`), by its object name. */
  clear(objectName: string): void {
    this.send(`clear ${objectName}`);
  }
  /** Closes the run: from here every kernel probe returns at once, as if detached (in microseconds, not a detach's 50-130 ms a probe); begin/end/interval programs still run. */
  close(): void {
    this.send('close');
  }

  detach(): void {
    this.send('detach');
  }

  /** Asks the runner to detach and exit; waits for it (final snapshot and stats arrive first). */
  async stop(): Promise<number | null> {
    this.child.stdin?.end();
    return this.exited;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }
}

/** Resolves with the 'ready' record, or rejects with the runner's fatal error. */
export function whenReady(runner: RunnerProcess): Promise<Extract<RunnerRecord, { type: 'ready' }>> {
  return new Promise((resolve, reject) => {
    const onRecord = (r: RunnerRecord) => {
      if (r.type === 'ready') done(() => resolve(r));
      else if (r.type === 'error') done(() => reject(new Error(`runner: ${r.message}`)));
    };
    const onExit = (code: number | null) => done(() => reject(new Error(`runner exited (${code}) before attaching`)));
    const done = (f: () => void) => {
      runner.off('record', onRecord);
      runner.off('exit', onExit);
      f();
    };
    runner.on('record', onRecord);
    runner.on('exit', onExit);
  });
}
