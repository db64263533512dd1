import type { Redis } from 'ioredis';
import { UnknownDeploymentHost, type DeploymentState, type UnknownDeployment } from '@tapfleet/schemas';

const ALL = 'tf:unknown-deployments';
const hostsKey = (id: string) => `tf:unknown-deployment:${id}`;
const byHostKey = (hostId: string) => `tf:unknown-deployments-of:${hostId}`;
/** Distinct unknown deployment ids one host may put on the list: a host can report anything. */
export const MAX_UNKNOWN_PER_HOST = 16;
/** Reports older than this are forgotten: a host that stopped reporting a deployment no longer runs it. */
const KEEP_MS = 24 * 3600_000;

/**
 * Deployments that agents report but this control plane has no record of: one an attacker
 * tried to plant (refused by the agent, with the reason), or one whose record Redis lost.
 * Listed by the API and stoppable like any other.
 */
export class UnknownDeployments {
  constructor(private readonly redis: Redis) {}

  /**
   * Records a host's report; returns false when the host is at its quota of distinct unknown
   * ids (one enrolled credential must not push others' reports off the list), true otherwise.
   */
  async record(deploymentId: string, hostId: string, state: DeploymentState, reason?: string): Promise<boolean> {
    const mine = byHostKey(hostId);
    if (!(await this.redis.sismember(mine, deploymentId))) {
      if ((await this.redis.scard(mine)) >= MAX_UNKNOWN_PER_HOST) return false;
      await this.redis.multi().sadd(mine, deploymentId).pexpire(mine, KEEP_MS).exec();
    }
    const h: UnknownDeploymentHost = { state, updatedAtMs: Date.now(), ...(reason ? { reason: reason.slice(0, 1000) } : {}) };
    await this.redis.multi()
      .hset(hostsKey(deploymentId), hostId, JSON.stringify(h))
      .pexpire(hostsKey(deploymentId), KEEP_MS)
      .zadd(ALL, Date.now(), deploymentId)
      .exec();
    return true;
  }

  async get(deploymentId: string): Promise<UnknownDeployment | undefined> {
    const raw = await this.redis.hgetall(hostsKey(deploymentId));
    const hosts: UnknownDeployment['hosts'] = {};
    for (const [hostId, json] of Object.entries(raw)) {
      let value: unknown;
      try {
        value = JSON.parse(json);
      } catch {
        continue;
      }
      const r = UnknownDeploymentHost.safeParse(value);
      if (r.success) hosts[hostId] = r.data;
    }
    return Object.keys(hosts).length ? { id: deploymentId, hosts } : undefined;
  }

  /** Newest report first; entries whose hosts all aged out are dropped. */
  async list(limit = 100): Promise<UnknownDeployment[]> {
    await this.redis.zremrangebyscore(ALL, 0, Date.now() - KEEP_MS);
    const out: UnknownDeployment[] = [];
    for (const id of await this.redis.zrevrange(ALL, 0, limit - 1)) {
      const u = await this.get(id);
      if (u) out.push(u);
      else await this.redis.zrem(ALL, id);
    }
    return out;
  }

  /**
   * Stops an unknown deployment on every host that reported it: each host's assignment set is
   * rewritten (signed) without it, so its agent detaches it. Their `stopped` reports land here.
   */
  async stop(deploymentId: string, removeFromHost: (hostId: string, deploymentId: string) => Promise<unknown>): Promise<UnknownDeployment | undefined> {
    const u = await this.get(deploymentId);
    if (!u) return undefined;
    await Promise.all(Object.keys(u.hosts).map((h) => removeFromHost(h, deploymentId)));
    return u;
  }
}
