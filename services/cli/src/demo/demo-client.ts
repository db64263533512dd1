import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { demoProgram, isOwnedAlive, readPidFile, removePidFile, stopOwned, writePidRecord } from '@tapfleet/stack';
import type { DemoConfig } from '@tapfleet/schemas';

/** The client's one summary line (test/demo/README.md): `tf-demo-client: sent=.. acked=.. ... rtt_p99_us=..`. */
export interface ClientSummary {
  line: string;
  fields: Record<string, number>;
}

export function parseClientSummary(text: string): ClientSummary | undefined {
  const line = text.split('\n').find((l) => l.startsWith('tf-demo-client: sent='));
  if (!line) return undefined;
  const fields = Object.fromEntries([...line.matchAll(/([a-z0-9_]+)=([0-9.]+)/g)].map((m) => [m[1]!, Number(m[2])]));
  return { line, fields };
}

/**
 * The order-sending client, a child of `tapfleet demo` (not a stack service: it has no port to
 * check, and when it is gone the gateway simply idles). `count` 0 sends until stopped. Its pid
 * file lets the next run stop a client that a killed `tapfleet demo` left sending.
 */
export class DemoClient {
  readonly child: ChildProcess;
  private output = '';
  readonly exited: Promise<number | null>;

  constructor(demo: DemoConfig, count: number, readonly pidFile: string) {
    const args = ['--connect', String(demo.gatewayPort), '--count', String(count), '--rate', String(demo.rate)];
    this.child = spawn(demoProgram('client'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.child.pid !== undefined) {
      mkdirSync(dirname(pidFile), { recursive: true });
      writePidRecord(pidFile, this.child.pid, [demoProgram('client'), ...args].join(' '));
    }
    for (const s of [this.child.stdout!, this.child.stderr!]) s.on('data', (d: Buffer) => { this.output = (this.output + d.toString()).slice(-64 * 1024); });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => { this.output += `\n${e.message}`; resolve(null); });
      this.child.on('exit', (code) => {
        removePidFile(pidFile);
        resolve(code);
      });
    });
  }

  /** Stops a client an earlier run started and left running (its `tapfleet demo` was killed); returns its pid if there was one. */
  static async stopLeftover(pidFile: string): Promise<number | undefined> {
    const rec = readPidFile(pidFile);
    if (!isOwnedAlive(rec)) return undefined;
    await stopOwned(rec, 5000);
    removePidFile(pidFile);
    return rec.pid;
  }

  get text(): string {
    return this.output.trim();
  }

  summary(): ClientSummary | undefined {
    return parseClientSummary(this.output);
  }

  /** SIGTERM: the client prints its summary and exits 0 (or 1 with orders still unanswered). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}
