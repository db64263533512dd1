import type { Redis } from 'ioredis';
import { HostView, type AgentHeartbeat, type AgentHello } from '@tapfleet/schemas';

/** What Redis holds per host: the view without liveness, which the expiring key decides. */
const StoredHost = HostView.omit({ live: true });
type StoredHost = Omit<HostView, 'live'>;

const HOSTS = 'tf:hosts';
const hostKey = (id: string) => `tf:host:${id}`;
const aliveKey = (id: string) => `tf:host:${id}:alive`;

/**
 * The fleet inventory in Redis: one JSON record per host (labels, kernel build,
 * binaries, clock) and a liveness key that expires unless heartbeats refresh it.
 */
export class Inventory {
  constructor(private readonly redis: Redis, private readonly livenessMs: number) {}

  async hello(h: AgentHello): Promise<void> {
    const prev = await this.get(h.hostId);
    const record: StoredHost = {
      hostId: h.hostId,
      bootId: h.bootId,
      labels: h.labels,
      kernel: h.kernel,
      binaries: h.binaries,
      agentVersion: h.agentVersion,
      lastSeenMs: Date.now(),
      runningDeployments: prev?.bootId === h.bootId ? prev.runningDeployments : [],
      ...(prev?.clock ? { clock: prev.clock } : {}),
    };
    await this.redis.multi().set(hostKey(h.hostId), JSON.stringify(record)).sadd(HOSTS, h.hostId).set(aliveKey(h.hostId), '1', 'PX', this.livenessMs).exec();
  }

  /** A heartbeat from a host whose hello was not seen yet only refreshes nothing: the hello follows. */
  async heartbeat(hb: AgentHeartbeat): Promise<boolean> {
    const prev = await this.get(hb.hostId);
    if (!prev) return false;
    const record: StoredHost = { ...prev, bootId: hb.bootId, labels: hb.labels, lastSeenMs: Date.now(), runningDeployments: hb.runningDeployments, ...(hb.clock ? { clock: hb.clock } : {}) };
    await this.redis.multi().set(hostKey(hb.hostId), JSON.stringify(record)).set(aliveKey(hb.hostId), '1', 'PX', this.livenessMs).exec();
    return true;
  }

  private async get(hostId: string): Promise<StoredHost | undefined> {
    const raw = await this.redis.get(hostKey(hostId));
    if (!raw) return undefined;
    const parsed = StoredHost.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }

  async list(): Promise<HostView[]> {
    const ids = (await this.redis.smembers(HOSTS)).sort();
    if (!ids.length) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.get(hostKey(id)).exists(aliveKey(id));
    const results = (await pipeline.exec()) ?? [];
    const hosts: HostView[] = [];
    ids.forEach((_, i) => {
      const raw = results[2 * i]?.[1];
      const alive = results[2 * i + 1]?.[1] === 1;
      if (typeof raw !== 'string') return;
      const parsed = StoredHost.safeParse(JSON.parse(raw));
      if (parsed.success) hosts.push({ ...parsed.data, live: alive });
    });
    return hosts;
  }

  /** Live hosts whose labels match every key of the selector. */
  async select(selector: Record<string, string>): Promise<HostView[]> {
    return (await this.list()).filter((h) => h.live && Object.entries(selector).every(([k, v]) => h.labels[k] === v));
  }
}
