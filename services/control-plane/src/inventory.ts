import type { Redis } from 'ioredis';
import { HostView, type AgentHeartbeat, type AgentHello } from '@tapfleet/schemas';
import { getStringRecord, isWrongKind, readRecord, serializeChecked, type CorruptRecordSink, type SkippedRecord } from '@tapfleet/runtime';

/** What Redis holds per host: the view without liveness, which the expiring key decides. */
const StoredHost = HostView.omit({ live: true });
type StoredHost = Omit<HostView, 'live'>;

const HOSTS = 'tf:hosts';
const hostKey = (id: string) => `tf:host:${id}`;
const aliveKey = (id: string) => `tf:host:${id}:alive`;

/** Hosts readable, and the ones skipped because their record is not. */
export interface HostList {
  hosts: HostView[];
  skipped: SkippedRecord[];
}

/**
 * The fleet inventory in Redis: one JSON record per host (labels, kernel build,
 * binaries, clock) and a liveness key that expires unless heartbeats refresh it.
 * An unreadable host record is reported and skipped; the host's next hello replaces it.
 */
export class Inventory {
  constructor(private readonly redis: Redis, private readonly livenessMs: number, private readonly onCorrupt: CorruptRecordSink = () => undefined) {}

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
    await this.redis.multi().set(hostKey(h.hostId), serializeChecked(StoredHost, `host ${h.hostId}`, record)).sadd(HOSTS, h.hostId).set(aliveKey(h.hostId), '1', 'PX', this.livenessMs).exec();
  }

  /** A heartbeat from a host whose hello was not seen yet only refreshes nothing: the hello follows. */
  async heartbeat(hb: AgentHeartbeat): Promise<boolean> {
    const prev = await this.get(hb.hostId);
    if (!prev) return false;
    const record: StoredHost = { ...prev, bootId: hb.bootId, labels: hb.labels, lastSeenMs: Date.now(), runningDeployments: hb.runningDeployments, ...(hb.clock ? { clock: hb.clock } : {}) };
    await this.redis.multi().set(hostKey(hb.hostId), serializeChecked(StoredHost, `host ${hb.hostId}`, record)).set(aliveKey(hb.hostId), '1', 'PX', this.livenessMs).exec();
    return true;
  }

  /** An unreadable record counts as absent (and is reported): a hello rewrites it whole. */
  private async get(hostId: string): Promise<StoredHost | undefined> {
    const got = await getStringRecord(this.redis, hostKey(hostId));
    if (!got.ok) {
      this.onCorrupt('hosts', hostKey(hostId), got.reason);
      return undefined;
    }
    if (got.raw === null) return undefined;
    const r = readRecord(StoredHost, got.raw);
    if (r.ok) return r.value;
    this.onCorrupt('hosts', hostKey(hostId), r.reason);
    return undefined;
  }

  async list(): Promise<HostList> {
    const ids = (await this.redis.smembers(HOSTS)).sort();
    const out: HostList = { hosts: [], skipped: [] };
    if (!ids.length) return out;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.get(hostKey(id)).exists(aliveKey(id));
    const results = (await pipeline.exec()) ?? [];
    ids.forEach((id, i) => {
      const [err, raw] = results[2 * i] ?? [null, null];
      const alive = results[2 * i + 1]?.[1] === 1;
      if (err && isWrongKind(err)) {
        const reason = 'holds another kind of Redis value than a JSON string';
        this.onCorrupt('hosts', hostKey(id), reason);
        out.skipped.push({ key: hostKey(id), reason });
        return;
      }
      if (err) throw err;
      if (typeof raw !== 'string') return;
      const r = readRecord(StoredHost, raw);
      if (r.ok) out.hosts.push({ ...r.value, live: alive });
      else {
        this.onCorrupt('hosts', hostKey(id), r.reason);
        out.skipped.push({ key: hostKey(id), reason: r.reason });
      }
    });
    return out;
  }

  /** Live hosts whose labels match every key of the selector (own labels only: `constructor` is not a label). */
  async select(selector: Record<string, string>): Promise<HostView[]> {
    return (await this.list()).hosts.filter((h) => h.live && Object.entries(selector).every(([k, v]) => Object.hasOwn(h.labels, k) && h.labels[k] === v));
  }
}
