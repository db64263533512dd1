import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KV } from '@nats-io/kv';
import type { Logger } from '@tapfleet/runtime';
import { DeploymentId, verifyAssignmentSet, type Assignment } from '@tapfleet/schemas';

export interface AssignmentHandlers {
  /** A set that verified: run exactly these (an empty list after the key was deleted). */
  apply(assignments: Assignment[]): Promise<void>;
  /** A set that did not verify: keep what runs; `named` are the deployment ids it claimed, for the report. */
  refuse(reason: string, named: string[]): Promise<void>;
}

/**
 * This host's assignment key, watched until stopped, and the agent's checks on every value:
 * schema, the control plane's signature, this host, not older than the newest set accepted
 * (the issue time is kept in the state directory across restarts, so a replay stays refused).
 * A watch that ends or fails (NATS restarted, the stream re-created) is opened again after a
 * pause; it re-delivers the current set, a no-op when nothing changed.
 */
export class AssignmentWatch {
  private stopped = false;
  private stopWatch?: () => void;

  constructor(
    private readonly kv: KV,
    private readonly hostId: string,
    private readonly stateDir: string,
    private readonly trustedKeyPem: () => string,
    private readonly handlers: AssignmentHandlers,
    private readonly log: Logger,
  ) {}

  private get issuedAtFile(): string {
    return join(this.stateDir, 'assignment-issued-at');
  }

  private lastIssuedAtMs(): number {
    try {
      const n = Number(readFileSync(this.issuedAtFile, 'utf8').trim());
      return Number.isSafeInteger(n) && n >= 0 ? n : 0;
    } catch {
      return 0;
    }
  }

  private rememberIssuedAt(ms: number): void {
    mkdirSync(this.stateDir, { recursive: true });
    writeFileSync(`${this.issuedAtFile}.tmp`, String(ms));
    renameSync(`${this.issuedAtFile}.tmp`, this.issuedAtFile);
  }

  /** Opens the watch (failing if the bucket cannot be watched at all), then follows it in the background. */
  async start(): Promise<void> {
    const first = await this.kv.watch({ key: this.hostId });
    void this.follow(first);
  }

  private async follow(first: Awaited<ReturnType<KV['watch']>>): Promise<void> {
    let watch = first;
    for (let attempt = 0; !this.stopped; attempt++) {
      this.stopWatch = () => watch.stop();
      try {
        for await (const entry of watch) {
          attempt = 0;
          try {
            // A delete can only stop work, never start any: it is the one unsigned change honoured.
            if (entry.operation !== 'PUT') await this.handlers.apply([]);
            else await this.accept(entry.value, entry.revision);
          } catch (e) {
            this.log.error({ revision: entry.revision, err: (e as Error).message }, 'assignment update not applied');
          }
        }
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'assignment watch failed; watching again');
      }
      if (this.stopped) return;
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))));
      try {
        if (!this.stopped) watch = await this.kv.watch({ key: this.hostId });
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'assignment watch could not be opened; retrying');
      }
    }
  }

  private async accept(value: Uint8Array, revision: number): Promise<void> {
    const verdict = verifyAssignmentSet(value, { hostId: this.hostId, trustedKeyPem: this.trustedKeyPem(), lastIssuedAtMs: this.lastIssuedAtMs() });
    if (!verdict.ok) {
      this.log.error({ revision, reason: verdict.reason }, 'assignment set refused; keeping the current deployments');
      await this.handlers.refuse(verdict.reason, namedDeployments(value));
      return;
    }
    this.rememberIssuedAt(verdict.set.issuedAtMs);
    await this.handlers.apply(verdict.set.assignments);
  }

  stop(): void {
    this.stopped = true;
    this.stopWatch?.();
  }
}

/** Deployment ids a (refused) assignment set names, read defensively: it may be anything. */
function namedDeployments(value: Uint8Array): string[] {
  try {
    const json: unknown = JSON.parse(new TextDecoder().decode(value.subarray(0, 256 << 10)));
    const list = (json as { assignments?: unknown }).assignments;
    if (!Array.isArray(list)) return [];
    const ids = list.map((a) => DeploymentId.safeParse((a as { deploymentId?: unknown })?.deploymentId)).flatMap((r) => (r.success ? [r.data] : []));
    return [...new Set(ids)].slice(0, 64);
  } catch {
    return [];
  }
}
