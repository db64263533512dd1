import type { KV } from '@nats-io/kv';
import { Assignment, AssignmentSet } from '@tapfleet/schemas';
import { z } from 'zod';
import { readRecord, type CorruptRecordSink } from './stored-record.js';

/** Just enough shape to salvage the readable assignments of an entry that fails AssignmentSet. */
const LooseSet = z.object({ assignments: z.array(z.unknown()) });

/**
 * Read-modify-write of a host's assignment set in the KV bucket, with compare-and-set
 * on the entry's revision: two deployments touching one host at once never lose
 * each other's assignment.
 */
export class AssignmentWriter {
  constructor(private readonly kv: KV, private readonly onCorrupt: CorruptRecordSink = () => undefined) {}

  /**
   * The host's current assignments. An unreadable entry is reported and rewritten without
   * what cannot be read (keeping every assignment that still parses): one bad value once
   * failed every later deploy to its host.
   */
  private current(hostId: string, text: string): Assignment[] {
    const set = readRecord(AssignmentSet, text);
    if (set.ok) return set.value.assignments;
    this.onCorrupt('assignments', hostId, set.reason);
    const loose = readRecord(LooseSet, text);
    return (loose.ok ? loose.value.assignments : []).flatMap((a) => {
      const r = Assignment.safeParse(a);
      return r.success ? [r.data] : [];
    });
  }

  async modify(hostId: string, change: (current: Assignment[]) => Assignment[]): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const entry = await this.kv.get(hostId);
      const live = entry && entry.operation === 'PUT';
      const current = live ? this.current(hostId, entry.string()) : [];
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
