import type { Redis } from 'ioredis';
import { AggregationSnapshot, Deployment, HostDeploymentState, type AgentDeploymentStatus, type DeploymentView } from '@tapfleet/schemas';
import { getStringRecord, getHashRecords, CorruptRecordError, readRecord, serializeChecked, type CorruptRecordSink, type SkippedRecord } from '@tapfleet/runtime';

const ALL = 'tf:deployments';
const depKey = (id: string) => `tf:deployment:${id}`;
const hostsKey = (id: string) => `tf:deployment:${id}:hosts`;
const aggsKey = (id: string) => `tf:deployment:${id}:aggs`;

/** Deployments readable, and the ones skipped because their record is not. */
export interface DeploymentList {
  deployments: Deployment[];
  skipped: SkippedRecord[];
}

/**
 * Deployments and per-host states in Redis; the rollout and the API read and write here.
 * Writes are checked against the schema the reads use; an unreadable record is reported
 * to `onCorrupt` and skipped by lists (and the expiry sweep), never fatal.
 */
export class DeploymentStore {
  constructor(private readonly redis: Redis, private readonly onCorrupt: CorruptRecordSink = () => undefined) {}

  async save(d: Deployment): Promise<void> {
    const text = serializeChecked(Deployment, `deployment ${d.id}`, d);
    await this.redis.multi().set(depKey(d.id), text).zadd(ALL, d.createdAtMs, d.id).exec();
  }

  /**
   * Whether a record is stored (readable or not), without reading it: what a heartbeat needs to
   * tell a known deployment from an unknown one. A record holds every target host's state; parsing
   * it for each running deployment of each heartbeat (500 hosts: 250 a second) kept the control
   * plane from keeping up, and hosts dropped out of "live".
   */
  async exists(id: string): Promise<boolean> {
    return (await this.redis.exists(depKey(id))) === 1;
  }

  /** Undefined when absent; a CorruptRecordError when present but unreadable. */
  async get(id: string): Promise<Deployment | undefined> {
    const got = await getStringRecord(this.redis, depKey(id));
    if (!got.ok) {
      this.onCorrupt('deployments', depKey(id), got.reason);
      throw new CorruptRecordError(depKey(id), got.reason);
    }
    if (got.raw === null) return undefined;
    const r = readRecord(Deployment, got.raw);
    if (r.ok) return r.value;
    this.onCorrupt('deployments', depKey(id), r.reason);
    throw new CorruptRecordError(depKey(id), r.reason);
  }

  async update(id: string, patch: Partial<Deployment>): Promise<Deployment | undefined> {
    const d = await this.get(id);
    if (!d) return undefined;
    const next = { ...d, ...patch };
    await this.save(next);
    return next;
  }

  /** Newest first; unreadable records are skipped and named. */
  async list(limit = 100): Promise<DeploymentList> {
    const ids = await this.redis.zrevrange(ALL, 0, limit - 1);
    const out: DeploymentList = { deployments: [], skipped: [] };
    for (const id of ids) {
      try {
        const d = await this.get(id);
        if (d) out.deployments.push(d);
      } catch (e) {
        if (!(e instanceof CorruptRecordError)) throw e;
        out.skipped.push({ key: e.key, reason: e.reason });
      }
    }
    return out;
  }

  /** An agent's status for a deployment; statuses for unknown deployments are ignored (and counted by the caller). */
  async recordStatus(s: AgentDeploymentStatus): Promise<boolean> {
    if (!(await this.redis.exists(depKey(s.deploymentId)))) return false;
    const state: HostDeploymentState = {
      state: s.state,
      ...(s.reason ? { reason: s.reason } : {}),
      updatedAtMs: Date.now(),
      ...(s.loss ? { loss: s.loss } : {}),
      ...(s.load ? { load: s.load } : {}),
      runnerRestarts: s.runnerRestarts,
    };
    await this.redis.hset(hostsKey(s.deploymentId), s.hostId, serializeChecked(HostDeploymentState, `host ${s.hostId}'s state for ${s.deploymentId}`, state));
    return true;
  }

  /** Hosts whose stored state is unreadable are left out (they show as pending) and reported. */
  async hostStates(id: string): Promise<Record<string, HostDeploymentState>> {
    const got = await getHashRecords(this.redis, hostsKey(id));
    if (!got.ok) this.onCorrupt('deployment-hosts', hostsKey(id), got.reason);
    const out: Record<string, HostDeploymentState> = {};
    for (const [host, json] of Object.entries(got.ok ? got.raw : {})) {
      const r = readRecord(HostDeploymentState, json);
      if (r.ok) out[host] = r.value;
      else this.onCorrupt('deployment-hosts', `${hostsKey(id)}[${host}]`, r.reason);
    }
    return out;
  }

  /** Targets that have not reported yet show as pending. */
  async view(id: string): Promise<DeploymentView | undefined> {
    const d = await this.get(id);
    if (!d) return undefined;
    const states = await this.hostStates(id);
    const hosts: DeploymentView['hosts'] = {};
    for (const t of d.targets) hosts[t.hostId] = states[t.hostId] ?? { state: 'pending', updatedAtMs: d.createdAtMs, runnerRestarts: 0 };
    return { ...d, hosts };
  }

  /** The snapshot text as the agent sent it, once the listener has checked it against its schema. */
  async saveAggregations(deploymentId: string, hostId: string, snapshotJson: string): Promise<void> {
    await this.redis.hset(aggsKey(deploymentId), hostId, snapshotJson);
  }

  /** Every host's latest snapshot; unreadable ones are reported and left out of the merge. */
  async aggregations(deploymentId: string): Promise<AggregationSnapshot[]> {
    const got = await getHashRecords(this.redis, aggsKey(deploymentId));
    if (!got.ok) this.onCorrupt('aggregations', aggsKey(deploymentId), got.reason);
    return Object.entries(got.ok ? got.raw : {}).flatMap(([host, json]) => {
      const r = readRecord(AggregationSnapshot, json);
      if (r.ok) return [r.value];
      this.onCorrupt('aggregations', `${aggsKey(deploymentId)}[${host}]`, r.reason);
      return [];
    });
  }
}
