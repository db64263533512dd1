import type { ClickHouseClient } from '@tapfleet/runtime';
import { lossOutagesSql, lossReportedSql, lossStoredSql, seqsAroundSql, storedInRangesSql, type LossReport, type LossRow, type Outage } from '@tapfleet/schemas';
import { outageText } from './outage-text.js';

interface Reported { host: string; boot_id: string; state: string; last_report_ms: string; produced_by_kernel: string; ring_buffer_drops: string; received: string; malformed: string; spooled: string; spool_drops: string; published: string; published_unacked: string }
interface Stored { host: string; boot_id: string; stored: string; rows: string; min_seq: string; max_seq: string }
interface OutageRow { host: string; boot_id: string; kind: string; from_ms: string; to_ms: string; cause: string; resolution: string }

async function rows<T>(ch: ClickHouseClient, query: string): Promise<T[]> {
  return (await ch.query({ query, format: 'JSONEachRow' })).json<T>();
}

const key = (h: string, b: string) => `${h}\u0000${b}`;

function toOutage(r: OutageRow): Outage {
  const to = Number(r.to_ms);
  return {
    kind: r.kind === 'agent' ? 'agent' : 'runner', fromMs: Number(r.from_ms), cause: r.cause,
    ...(to ? { toMs: to } : {}), ...(r.resolution === 'restarted' || r.resolution === 'stopped' ? { resolution: r.resolution } : {}),
  };
}

/**
 * Outages by (host, boot), in start order. An outage reported open and never closed is
 * dropped when a later one starts no later than it (an agent that died while its runner was
 * down reports one agent outage covering both).
 */
async function outagesBy(ch: ClickHouseClient, database: string, deploymentId: string): Promise<Map<string, Outage[]>> {
  const by = new Map<string, Outage[]>();
  for (const r of await rows<OutageRow>(ch, lossOutagesSql(database, deploymentId))) {
    const k = key(r.host, r.boot_id);
    by.set(k, [...(by.get(k) ?? []), toOutage(r)]);
  }
  for (const [k, list] of by) by.set(k, list.filter((o, i) => o.toMs !== undefined || !list.slice(i + 1).some((n) => n.fromMs <= o.fromMs || n.kind === 'agent')));
  return by;
}

/**
 * Missing sequences inside outages on one (host, boot): for each outage, the stored sequences
 * just before it started and just after it ended bound the events it may have taken; the
 * ranges are merged and the sequences missing inside them counted.
 */
async function gapsInOutages(ch: ClickHouseClient, database: string, deploymentId: string, host: string, bootId: string, outages: Outage[], minSeq: number, maxSeq: number): Promise<number> {
  if (!outages.length) return 0;
  const windows = outages.map((o) => ({ fromNs: BigInt(o.fromMs) * 1_000_000n, ...(o.toMs !== undefined ? { toNs: BigInt(o.toMs) * 1_000_000n } : {}) }));
  const [around] = await rows<Record<string, string>>(ch, seqsAroundSql(database, deploymentId, host, bootId, windows));
  const ranges: [number, number][] = windows.map((_, i) => [
    Number(around?.[`bn${i}`]) > 0 ? Number(around?.[`b${i}`]) : minSeq - 1,
    Number(around?.[`an${i}`]) > 0 ? Number(around?.[`a${i}`]) : maxSeq + 1,
  ]);
  ranges.sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] < last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([...r]);
  }
  const [inside] = await rows<Record<string, string>>(ch, storedInRangesSql(database, deploymentId, host, bootId, merged));
  // Only sequences up to the highest stored count as gaps (as in `sequenceGaps`).
  return merged.reduce((sum, [lo, hi], i) => sum + Math.max(0, Math.min(hi, maxSeq + 1) - lo - 1 - Number(inside?.[`s${i}`] ?? 0)), 0);
}

/**
 * End-to-end loss accounting for a deployment, per (host, boot): what the kernel
 * produced, what the ring buffer dropped, what the agent received, found malformed,
 * spooled, dropped from its spool and published (the agent's last report), and what
 * ClickHouse stores. The differences are named, so a gap points at its stage; runner
 * and agent outages are listed as reasons, and sequence gaps are split into those
 * inside an outage and the unexplained rest.
 */
export async function lossReport(ch: ClickHouseClient, database: string, deploymentId: string): Promise<LossReport> {
  const [reported, stored, outages] = await Promise.all([
    rows<Reported>(ch, lossReportedSql(database, deploymentId)), rows<Stored>(ch, lossStoredSql(database, deploymentId)), outagesBy(ch, database, deploymentId),
  ]);
  const storedBy = new Map(stored.map((s) => [key(s.host, s.boot_id), s]));
  const keys = new Set([...reported.map((r) => key(r.host, r.boot_id)), ...stored.map((s) => key(s.host, s.boot_id))]);
  const out: LossRow[] = [];
  for (const k of [...keys].sort()) {
    const r = reported.find((x) => key(x.host, x.boot_id) === k);
    const s = storedBy.get(k);
    const [host, bootId] = k.split('\u0000') as [string, string];
    const n = (v: string | undefined) => Number(v ?? 0);
    const storedCount = n(s?.stored);
    const hostOutages = outages.get(k) ?? [];
    const sequenceGaps = s ? n(s.max_seq) - n(s.min_seq) + 1 - storedCount : 0;
    const inOutages = s && sequenceGaps > 0 ? Math.min(sequenceGaps, await gapsInOutages(ch, database, deploymentId, host, bootId, hostOutages, n(s.min_seq), n(s.max_seq))) : 0;
    out.push({
      host, bootId, state: r?.state ?? 'unknown', lastReportMs: n(r?.last_report_ms),
      producedByKernel: n(r?.produced_by_kernel), ringBufferDrops: n(r?.ring_buffer_drops), received: n(r?.received), malformed: n(r?.malformed),
      spooled: n(r?.spooled), spoolDrops: n(r?.spool_drops), published: n(r?.published), publishedUnacked: n(r?.published_unacked),
      stored: storedCount, duplicates: n(s?.rows) - storedCount,
      unaccountedInAgent: Math.max(0, n(r?.produced_by_kernel) - n(r?.ring_buffer_drops) - n(r?.received)),
      notYetStored: Math.max(0, n(r?.published) - storedCount),
      sequenceGaps,
      outages: hostOutages.map((o) => ({ ...o, text: outageText(o) })),
      gapsInOutages: inOutages,
      // Spool drops are sequences too, counted where they happened.
      gapsUnexplained: Math.max(0, sequenceGaps - inOutages - n(r?.spool_drops)),
    });
  }
  return { deploymentId, rows: out };
}
