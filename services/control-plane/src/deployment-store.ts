import type { Redis } from 'ioredis';
import { Deployment, HostDeploymentState, type AgentDeploymentStatus, type DeploymentView } from '@tapfleet/schemas';

const ALL = 'tf:deployments';
const depKey = (id: string) => `tf:deployment:${id}`;
const hostsKey = (id: string) => `tf:deployment:${id}:hosts`;
const aggsKey = (id: string) => `tf:deployment:${id}:aggs`;

/** Deployments and per-host states in Redis; the rollout and the API read and write here. */
export class DeploymentStore {
  constructor(private readonly redis: Redis) {}

  async save(d: Deployment): Promise<void> {
    await this.redis.multi().set(depKey(d.id), JSON.stringify(d)).zadd(ALL, d.createdAtMs, d.id).exec();
  }

  async get(id: string): Promise<Deployment | undefined> {
    const raw = await this.redis.get(depKey(id));
    return raw ? Deployment.parse(JSON.parse(raw)) : undefined;
  }

  async update(id: string, patch: Partial<Deployment>): Promise<Deployment | undefined> {
    const d = await this.get(id);
    if (!d) return undefined;
    const next = { ...d, ...patch };
    await this.save(next);
    return next;
  }

  /** Newest first. */
  async list(limit = 100): Promise<Deployment[]> {
    const ids = await this.redis.zrevrange(ALL, 0, limit - 1);
    const out: Deployment[] = [];
    for (const id of ids) {
      const d = await this.get(id);
      if (d) out.push(d);
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
    await this.redis.hset(hostsKey(s.deploymentId), s.hostId, JSON.stringify(state));
    return true;
  }

  async hostStates(id: string): Promise<Record<string, HostDeploymentState>> {
    const raw = await this.redis.hgetall(hostsKey(id));
    const out: Record<string, HostDeploymentState> = {};
    for (const [host, json] of Object.entries(raw)) {
      const parsed = HostDeploymentState.safeParse(JSON.parse(json));
      if (parsed.success) out[host] = parsed.data;
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

  async saveAggregations(deploymentId: string, hostId: string, snapshotJson: string): Promise<void> {
    await this.redis.hset(aggsKey(deploymentId), hostId, snapshotJson);
  }

  async aggregations(deploymentId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(aggsKey(deploymentId));
  }
}
