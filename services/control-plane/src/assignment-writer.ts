import type { KeyObject } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { signAssignmentSet, verifyAssignmentSet, type Assignment, type AssignmentSet } from '@tapfleet/schemas';
import type { Logger } from '@tapfleet/runtime';

export interface AssignmentSigning {
  privateKey: KeyObject;
  publicKeyPem: string;
}

/** What the writer asks of the deployment records; the records, not the bucket, are the truth. */
export interface AssignmentRecords {
  /** The assignments the records say this host should have (used when the stored set is not ours, or is a replay). */
  rebuild(hostId: string): Promise<Assignment[]>;
  /** True when a deployment's record says it is over (stopped, failed, expired): never re-signed. */
  isOver(deploymentId: string): Promise<boolean>;
  /** Issue time of the newest set written for this host (a stored set older than it is a replay). */
  lastIssued(hostId: string): Promise<number>;
  setLastIssued(hostId: string, issuedAtMs: number): Promise<void>;
}

/**
 * Read-modify-write of a host's signed assignment set in the KV bucket, with compare-and-set
 * on the entry's revision: two deployments touching one host at once never lose each
 * other's assignment. Every set written is signed and issued strictly later than the one it
 * replaces. A stored set that this control plane did not write last (garbage, forged, or an
 * old one put back by someone with bus access) is never re-signed: the host's set is rebuilt
 * from the deployment records.
 */
export class AssignmentWriter {
  onUntrusted?: (hostId: string, reason: string) => void;

  constructor(
    private readonly kv: KV,
    private readonly signing: AssignmentSigning,
    private readonly records: AssignmentRecords,
    private readonly log: Logger,
  ) {}

  /**
   * The stored set, if it is one this control plane wrote last: signed by us, for this host,
   * not older than the newest we issued (someone with bus access may have put back an old,
   * genuinely signed set; re-signing its contents would launder the replay). Deployments whose
   * records say they are over are dropped even from a trusted set.
   */
  private async current(hostId: string, value: Uint8Array | undefined): Promise<{ assignments: Assignment[]; issuedAtMs: number }> {
    const lastIssuedAtMs = await this.records.lastIssued(hostId);
    // No stored set (a deleted key), or no issue clock to compare with (Redis lost its data):
    // nothing proves the stored set is the newest this control plane wrote, so the records decide.
    const reason = value === undefined ? 'the assignment key was deleted'
      : lastIssuedAtMs === 0 ? 'no record of the last set issued for this host (Redis data lost?)'
      : undefined;
    const v = reason ? { ok: false as const, reason } : verifyAssignmentSet(value!, { hostId, trustedKeyPem: this.signing.publicKeyPem, lastIssuedAtMs });
    if (!v.ok) {
      this.log.error({ hostId, reason: v.reason }, 'stored assignment set is not known to be the one this control plane wrote last; rebuilding it from the deployment records');
      this.onUntrusted?.(hostId, v.reason);
      return { assignments: await this.records.rebuild(hostId), issuedAtMs: lastIssuedAtMs };
    }
    const over = await Promise.all(v.set.assignments.map((a) => this.records.isOver(a.deploymentId)));
    return { assignments: v.set.assignments.filter((_, i) => !over[i]), issuedAtMs: v.set.issuedAtMs };
  }

  async modify(hostId: string, change: (current: Assignment[]) => Assignment[]): Promise<AssignmentSet> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const entry = await this.kv.get(hostId);
      const live = entry && entry.operation === 'PUT';
      // A host never written to has neither a key nor an issue clock: nothing to rebuild.
      const never = !entry && (await this.records.lastIssued(hostId)) === 0;
      const cur = never ? { assignments: [], issuedAtMs: 0 } : await this.current(hostId, live ? entry.value : undefined);
      const set = signAssignmentSet({ hostId, issuedAtMs: Math.max(Date.now(), cur.issuedAtMs + 1), assignments: change(cur.assignments) }, this.signing.privateKey);
      try {
        if (live) await this.kv.update(hostId, JSON.stringify(set), entry.revision);
        else await this.kv.create(hostId, JSON.stringify(set));
        await this.records.setLastIssued(hostId, set.issuedAtMs);
        return set;
      } catch (e) {
        if (!/wrong last sequence|key exists/i.test((e as Error).message)) throw e;
      }
    }
    throw new Error(`assignment update for ${hostId} kept conflicting; giving up`);
  }

  add(hostId: string, a: Assignment): Promise<AssignmentSet> {
    return this.modify(hostId, (cur) => [...cur.filter((x) => x.deploymentId !== a.deploymentId), a]);
  }

  remove(hostId: string, deploymentId: string): Promise<AssignmentSet> {
    return this.modify(hostId, (cur) => cur.filter((x) => x.deploymentId !== deploymentId));
  }
}
