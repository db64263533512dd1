import type { Logger } from '@tapfleet/runtime';
import { dropDaySql, partitionsSql, serverFeatures, ttlSql } from '@tapfleet/schemas';
import type { SqlRunner } from './sql-runner.js';

/**
 * Retention by partition: every table is partitioned by day, and days older than the
 * table's retention are dropped (cheap: whole parts go, nothing is rewritten). On
 * servers with TTL the same retention is also set as a table TTL.
 */
export async function applyRetention(sql: SqlRunner, database: string, days: Record<string, number>, log?: Logger, now = new Date()): Promise<{ table: string; dropped: string[] }[]> {
  const [{ version = '0' } = {}] = await sql.rows<{ version: string }>('SELECT version() AS version');
  const ttl = serverFeatures(version).has('ttl');
  const out: { table: string; dropped: string[] }[] = [];
  for (const [table, keep] of Object.entries(days)) {
    const cutoff = new Date(now.getTime() - keep * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
    const parts = await sql.rows<{ partition_id: string }>(partitionsSql(database, table));
    const dropped: string[] = [];
    for (const { partition_id: id } of parts) {
      if (!/^\d{8}$/.test(id) || id >= cutoff) continue;
      await sql.command(dropDaySql(database, table, id));
      dropped.push(id);
    }
    if (ttl) await sql.command(ttlSql(database, table, keep));
    if (dropped.length) log?.info({ table, dropped }, 'retention dropped old partitions');
    out.push({ table, dropped });
  }
  return out;
}
