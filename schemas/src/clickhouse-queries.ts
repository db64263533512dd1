/**
 * SQL the services issue against ClickHouse, beyond inserts, in one place so the
 * compatibility test can run every one of them on the current engine (chDB) as well
 * as on the server the tests start (18.16). Only constructs valid on both.
 */
import { sqlString as str } from './sql-literal.js';

/** Latest loss counters each (host, boot) reported for a deployment. */
export const lossReportedSql = (db: string, deploymentId: string) =>
  `SELECT host, boot_id, argMax(state, at_ms) AS state, max(at_ms) AS last_report_ms,
     argMax(produced_by_kernel, at_ms) AS produced_by_kernel, argMax(ring_buffer_drops, at_ms) AS ring_buffer_drops,
     argMax(received, at_ms) AS received, argMax(malformed, at_ms) AS malformed, argMax(spooled, at_ms) AS spooled,
     argMax(spool_drops, at_ms) AS spool_drops, argMax(published, at_ms) AS published, argMax(published_unacked, at_ms) AS published_unacked
   FROM ${db}.agent_status WHERE deployment = ${str(deploymentId)} GROUP BY host, boot_id ORDER BY host, boot_id`;

/** What is stored per (host, boot): distinct sequences, rows (duplicates not yet merged away), sequence span. */
export const lossStoredSql = (db: string, deploymentId: string) =>
  `SELECT host, boot_id, uniqExact(seq) AS stored, count() AS rows, min(seq) AS min_seq, max(seq) AS max_seq
   FROM ${db}.probe_events WHERE deployment = ${str(deploymentId)} GROUP BY host, boot_id ORDER BY host, boot_id`;

/**
 * Every outage each (host, boot) reported for a deployment, once: statuses repeat the recent
 * ones, and an outage first reported open (to 0) is later reported closed, grouped by start.
 */
export const lossOutagesSql = (db: string, deploymentId: string) =>
  `SELECT host, boot_id, kind, from_ms, max(to_ms) AS to_ms, argMax(cause, at_ms) AS cause, argMax(resolution, at_ms) AS resolution
   FROM (SELECT host, boot_id, at_ms, kind, from_ms, to_ms, cause, resolution FROM ${db}.agent_status
         ARRAY JOIN outage_kind AS kind, outage_from_ms AS from_ms, outage_to_ms AS to_ms, outage_cause AS cause, outage_resolution AS resolution
         WHERE deployment = ${str(deploymentId)})
   GROUP BY host, boot_id, kind, from_ms ORDER BY host, boot_id, from_ms, kind`;

/** A time window in wall ns, open at the end when `toNs` is undefined. */
export interface NsWindow {
  fromNs: bigint;
  toNs?: bigint;
}

/**
 * For each window, the stored sequences around it on one (host, boot): the last one stored
 * before it starts (`b{i}`, with `bn{i}` rows) and the first stored after it ends (`a{i}`,
 * `an{i}`). Sequence order is time order within a boot, so the missing sequences between
 * the two are events the window may explain.
 */
export const seqsAroundSql = (db: string, deploymentId: string, hostId: string, bootId: string, windows: NsWindow[]) =>
  `SELECT ${windows.map((w, i) => `countIf(ts_ns < ${w.fromNs}) AS bn${i}, maxIf(seq, ts_ns < ${w.fromNs}) AS b${i}, countIf(ts_ns > ${w.toNs ?? 0n} AND ${w.toNs === undefined ? 0 : 1}) AS an${i}, minIf(seq, ts_ns > ${w.toNs ?? 0n}) AS a${i}`).join(', ')}
   FROM ${db}.probe_events WHERE deployment = ${str(deploymentId)} AND host = ${str(hostId)} AND boot_id = ${str(bootId)}`;

/** Distinct sequences stored strictly inside each (after, before) range on one (host, boot), as `s{i}`. */
export const storedInRangesSql = (db: string, deploymentId: string, hostId: string, bootId: string, ranges: [number, number][]) =>
  `SELECT ${ranges.map(([lo, hi], i) => `uniqExactIf(seq, seq > ${lo} AND seq < ${hi}) AS s${i}`).join(', ')}
   FROM ${db}.probe_events WHERE deployment = ${str(deploymentId)} AND host = ${str(hostId)} AND boot_id = ${str(bootId)}`;

/** Sequences of one batch already stored (ingest's check of a redelivered batch). */
export const storedSeqsSql = (db: string, deploymentId: string, hostId: string, bootId: string, firstSeq: number, count: number) =>
  `SELECT seq FROM ${db}.probe_events WHERE deployment = ${str(deploymentId)} AND host = ${str(hostId)} AND boot_id = ${str(bootId)} AND seq >= ${firstSeq} AND seq < ${firstSeq + count}`;

/** Active daily partitions of a table (retention drops the old ones). */
export const partitionsSql = (db: string, table: string) =>
  `SELECT DISTINCT partition_id FROM system.parts WHERE database = ${str(db)} AND table = ${str(table)} AND active ORDER BY partition_id`;

/** Drops one day of a table partitioned by a Date column (partition id YYYYMMDD). */
export const dropDaySql = (db: string, table: string, partitionId: string) =>
  `ALTER TABLE ${db}.${table} DROP PARTITION '${partitionId.slice(0, 4)}-${partitionId.slice(4, 6)}-${partitionId.slice(6, 8)}'`;

/** Where the server has TTL (not 18.16): expire rows too, so parts merge away without waiting for the job. */
export const ttlSql = (db: string, table: string, days: number) => `ALTER TABLE ${db}.${table} MODIFY TTL date + toIntervalDay(${days})`;

/**
 * Stored events of some transactions (the assembler merges them into a transaction it
 * re-assembles after a restart or a very late event). Days bound the scan to few partitions.
 */
export const storedTxnEventsSql = (db: string, fromDay: string, toDay: string, keys: { deployment: string; txn: string }[]) =>
  `SELECT deployment, txn, event, host, boot_id, seq, ts_ns, clock_offset_ns, clock_uncertainty_ns, latency_ns, pid, tid
   FROM ${db}.probe_events
   WHERE date >= toDate(${str(fromDay)}) AND date <= toDate(${str(toDay)})
     AND txn IN (${[...new Set(keys.map((k) => str(k.txn)))].join(', ')})
     AND deployment IN (${[...new Set(keys.map((k) => str(k.deployment)))].join(', ')})`;
