import type { KV } from '@nats-io/kv';
import { AssignmentSet, type Assignment } from '@tapfleet/schemas';

/**
 * Read-modify-write of a host's assignment set in the KV bucket, with compare-and-set
 * on the entry's revision: two deployments touching one host at once never lose
 * each other's assignment.
 */
export class AssignmentWriter {
  constructor(private readonly kv: KV) {}

  async modify(hostId: string, change: (current: Assignment[]) => Assignment[]): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const entry = await this.kv.get(hostId);
      const live = entry && entry.operation === 'PUT';
      const current = live ? AssignmentSet.parse(entry.json()).assignments : [];
      const body: AssignmentSet = { hostId, revision: entry?.revision ?? 0, assignments: change(current) };
      try {
        if (live) await this.kv.update(hostId, JSON.stringify(body), entry.revision);
        else await this.kv.create(hostId, JSON.stringify(body));
        return;
      } catch (e) {
        if (!/wrong last sequence|key exists/i.test((e as Error).message)) throw e;
      }
    }
    throw new Error(`assignment update for ${hostId} kept conflicting; giving up`);
  }

  add(hostId: string, a: Assignment): Promise<void> {
    return this.modify(hostId, (cur) => [...cur.filter((x) => x.deploymentId !== a.deploymentId), a]);
  }

  remove(hostId: string, deploymentId: string): Promise<void> {
    return this.modify(hostId, (cur) => cur.filter((x) => x.deploymentId !== deploymentId));
  }
}
