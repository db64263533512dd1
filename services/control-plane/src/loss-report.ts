import type { ClickHouseClient } from '@tapfleet/runtime';
import { lossReportedSql, lossStoredSql, type LossReport, type LossRow } from '@tapfleet/schemas';

interface Reported { host: string; boot_id: string; state: string; last_report_ms: string; produced_by_kernel: string; ring_buffer_drops: string; received: string; malformed: string; spooled: string; spool_drops: string; published: string }
interface Stored { host: string; boot_id: string; stored: string; rows: string; min_seq: string; max_seq: string }

async function rows<T>(ch: ClickHouseClient, query: string): Promise<T[]> {
  return (await ch.query({ query, format: 'JSONEachRow' })).json<T>();
}

/**
 * End-to-end loss accounting for a deployment, per (host, boot): what the kernel
 * produced, what the ring buffer dropped, what the agent received, found malformed,
 * spooled, dropped from its spool and published (the agent's last report), and what
 * ClickHouse stores. The differences are named, so a gap points at its stage.
 */
export async function lossReport(ch: ClickHouseClient, database: string, deploymentId: string): Promise<LossReport> {
  const [reported, stored] = await Promise.all([rows<Reported>(ch, lossReportedSql(database, deploymentId)), rows<Stored>(ch, lossStoredSql(database, deploymentId))]);
  const key = (h: string, b: string) => `${h}\u0000${b}`;
  const storedBy = new Map(stored.map((s) => [key(s.host, s.boot_id), s]));
  const keys = new Set([...reported.map((r) => key(r.host, r.boot_id)), ...stored.map((s) => key(s.host, s.boot_id))]);
  const out: LossRow[] = [...keys].sort().map((k) => {
    const r = reported.find((x) => key(x.host, x.boot_id) === k);
    const s = storedBy.get(k);
    const [host, bootId] = k.split('\u0000') as [string, string];
    const n = (v: string | undefined) => Number(v ?? 0);
    const storedCount = n(s?.stored);
    return {
      host, bootId, state: r?.state ?? 'unknown', lastReportMs: n(r?.last_report_ms),
      producedByKernel: n(r?.produced_by_kernel), ringBufferDrops: n(r?.ring_buffer_drops), received: n(r?.received), malformed: n(r?.malformed),
      spooled: n(r?.spooled), spoolDrops: n(r?.spool_drops), published: n(r?.published),
      stored: storedCount, duplicates: n(s?.rows) - storedCount,
      unaccountedInAgent: Math.max(0, n(r?.produced_by_kernel) - n(r?.ring_buffer_drops) - n(r?.received)),
      notYetStored: Math.max(0, n(r?.published) - storedCount),
      sequenceGaps: s ? n(s.max_seq) - n(s.min_seq) + 1 - storedCount : 0,
    };
  });
  return { deploymentId, rows: out };
}
