import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';

/** The demo's four programs, built by `make -C test/demo` (incremental, as `tapfleet setup` does). */
export const DEMO_STAGES = ['client', 'gateway', 'risk', 'matcher'] as const;
export type DemoStage = (typeof DEMO_STAGES)[number];

export function buildDemo(): Record<DemoStage, string> {
  execFileSync('make', ['-s', '-C', join(PROJECT_ROOT, 'test', 'demo')], { stdio: ['ignore', 'inherit', 'inherit'] });
  const dir = join(PROJECT_ROOT, 'test', 'demo', 'build');
  return { client: join(dir, 'tf-demo-client'), gateway: join(dir, 'tf-demo-gateway'), risk: join(dir, 'tf-demo-risk'), matcher: join(dir, 'tf-demo-matcher') };
}

/** The tapset placeholders ($tfdemo_gateway, ...) bound to the built programs. */
export function demoBinaryPaths(bins: Record<DemoStage, string>): Record<string, string> {
  return Object.fromEntries(DEMO_STAGES.map((s) => [`tfdemo_${s}`, bins[s]]));
}

export interface DemoRunOptions {
  /** gateway = base, risk = base + 1, matcher = base + 2 (inside the test's own netns). */
  portBase: number;
  count: number;
  rate: number;
  delayUs?: Partial<Record<'gateway' | 'risk' | 'matcher', number>>;
  rejectEvery?: number;
}

/**
 * One shell command that starts the three stages, runs the client to completion, stops the
 * stages with SIGTERM (gateway first) and exits with the client's status (or 91..93 if a stage
 * did not stop cleanly). Run it under `sh -c`: the whole pipeline is one process tree, one cgroup to trace.
 */
export function demoShellCommand(bins: Record<DemoStage, string>, o: DemoRunOptions): string {
  const d = o.delayUs ?? {};
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    `${q(bins.matcher)} --listen ${o.portBase + 2} --delay-us ${d.matcher ?? 0} & M=$!`,
    `${q(bins.risk)} --listen ${o.portBase + 1} --downstream ${o.portBase + 2} --delay-us ${d.risk ?? 0} & R=$!`,
    `${q(bins.gateway)} --listen ${o.portBase} --downstream ${o.portBase + 1} --delay-us ${d.gateway ?? 0} & G=$!`,
    `${q(bins.client)} --connect ${o.portBase} --count ${o.count} --rate ${o.rate} --reject-every ${o.rejectEvery ?? 0}; C=$?`,
    // Upstream first: a stage whose next stage is already gone stops with exit 1, by design.
    'kill -TERM $G; wait $G || exit 91',
    'kill -TERM $R; wait $R || exit 92',
    'kill -TERM $M; wait $M || exit 93',
    'exit $C',
  ].join('\n');
}

export interface ClientSummary {
  sent: number;
  acked: number;
  filled: number;
  rejected: number;
  unexpected: number;
  ratePerS: number;
  rttP50Us: number;
  rttP99Us: number;
}

/** Parses the client's one summary line (`tf-demo-client: sent=... acked=... ...`). */
export function parseClientSummary(output: string): ClientSummary | undefined {
  const line = output.split('\n').find((l) => l.startsWith('tf-demo-client: sent='));
  if (!line) return undefined;
  const kv = Object.fromEntries(line.slice('tf-demo-client: '.length).split(' ').map((p) => p.split('=') as [string, string]));
  const n = (k: string) => Number(kv[k]);
  return { sent: n('sent'), acked: n('acked'), filled: n('filled'), rejected: n('rejected'), unexpected: n('unexpected'), ratePerS: n('rate_per_s'), rttP50Us: n('rtt_p50_us'), rttP99Us: n('rtt_p99_us') };
}

/** A demo program started on its own, with its output collected; `ready` resolves on its ready line. */
export class DemoProcess {
  readonly child: ChildProcess;
  output = '';
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;

  constructor(path: string, args: string[]) {
    this.child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // 'close', not 'exit': only then has all of its output been read.
    this.exited = once(this.child, 'close').then(([code]) => code as number | null);
    this.ready = new Promise((resolve, reject) => {
      const onData = (b: Buffer) => {
        this.output += b.toString();
        if (this.output.includes(': ready,')) resolve();
      };
      this.child.stdout!.on('data', onData);
      this.child.stderr!.on('data', onData);
      void this.exited.then((code) => reject(new Error(`${path} exited (${code}) before it was ready: ${this.output}`)));
    });
    this.ready.catch(() => {});
  }

  /** SIGTERM, then the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** Stops the stages upstream first (each then stops while its next stage is still there): their exit codes. */
export async function stopStages(s: { gateway: DemoProcess; risk: DemoProcess; matcher: DemoProcess }): Promise<(number | null)[]> {
  const codes: (number | null)[] = [];
  for (const p of [s.gateway, s.risk, s.matcher]) codes.push(await p.stop());
  return codes;
}
