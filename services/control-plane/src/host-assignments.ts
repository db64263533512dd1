import type { Redis } from 'ioredis';
import { FINISHED_PHASES, type Assignment } from '@tapfleet/schemas';
import type { AssignmentRecords } from './assignment-writer.js';
import type { DeploymentStore } from './deployment-store.js';

const issuedKey = (hostId: string) => `tf:assignments-issued:${hostId}`;

/**
 * What a host's assignment set should hold according to the deployment records alone:
 * every live, unexpired deployment that targets it (canary phase: only canary targets).
 * Used to rebuild a set that was found in the bucket without this control plane's signature.
 */
export async function assignmentsFromRecords(store: DeploymentStore, hostId: string): Promise<Assignment[]> {
  const now = Date.now();
  const out: Assignment[] = [];
  for (const d of (await store.list(1000)).deployments) {
    if (FINISHED_PHASES.includes(d.phase) || d.expiresAtMs <= now) continue;
    const t = d.targets.find((x) => x.hostId === hostId);
    if (!t || (d.phase === 'canary' && !t.canary)) continue;
    out.push({ deploymentId: d.id, bundleId: t.bundleId, expiresAtMs: d.expiresAtMs, pids: [] });
  }
  return out;
}

/** The deployment records and the per-host issue clock, in Redis, as the assignment writer needs them. */
export function assignmentRecords(store: DeploymentStore, redis: Redis): AssignmentRecords {
  // A rollout rewrites every target host's set, each naming the same deployments: one record
  // read (a deployment with 500 targets is ~60 KB to parse) serves them all for a moment. It
  // only guards against re-signing a finished deployment; replays are stopped by the issue clock.
  const overCache = new Map<string, { over: boolean; atMs: number }>();
  return {
    rebuild: (hostId) => assignmentsFromRecords(store, hostId),
    isOver: async (id) => {
      const hit = overCache.get(id);
      if (hit && Date.now() - hit.atMs < 1000) return hit.over;
      const d = await store.get(id).catch(() => undefined);
      const over = d !== undefined && (FINISHED_PHASES.includes(d.phase) || d.expiresAtMs <= Date.now());
      if (overCache.size > 10_000) overCache.clear();
      overCache.set(id, { over, atMs: Date.now() });
      return over;
    },
    lastIssued: async (hostId) => Number(await redis.get(issuedKey(hostId))) || 0,
    setLastIssued: async (hostId, ms) => {
      await redis.set(issuedKey(hostId), String(ms));
    },
  };
}
