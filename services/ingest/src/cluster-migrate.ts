import type { Logger } from '@tapfleet/runtime';
import { distributedTableSql, LOCAL_SUFFIX, SHARD_PRIVATE_TABLES, shardingKeySql, shardLocalSql, sqlString } from '@tapfleet/schemas';
import { migrate, type MigrationReport } from './migrate.js';
import type { SqlRunner } from './sql-runner.js';

/** A database that cannot become sharded as it is (tables already stored unsharded). */
export class ClusterLayoutError extends Error {
  readonly code = 'TAPFLEET_CLUSTER_LAYOUT';
}

/**
 * The migrations on a cluster of shards (schemas/src/clickhouse-sharding.ts): each shard applies
 * every migration to its `_local` tables and keeps its own ledger; then every shard gets a
 * Distributed table over each local table. DDL runs on each shard in turn, not `ON CLUSTER`: that
 * needs ZooKeeper's distributed DDL queue, which the shards (no replicas) do not otherwise need.
 */
export async function migrateShards(shards: readonly SqlRunner[], database: string, cluster: string, log?: Logger): Promise<MigrationReport[]> {
  for (const sql of shards) await refuseUnshardedTables(sql, database);
  const reports: MigrationReport[] = [];
  for (const sql of shards) reports.push(await migrate(sql, database, log, (s) => shardLocalSql(s, database)));
  for (const sql of shards) await ensureDistributedTables(sql, database, cluster, log);
  return reports;
}

/** A node holding tables made for one node would keep them, stored rows and all, out of the Distributed tables' sight. */
async function refuseUnshardedTables(sql: SqlRunner, database: string): Promise<void> {
  const tables = await sql.rows<TableRow>(`SELECT name, engine, sorting_key FROM system.tables WHERE database = ${sqlString(database)}`);
  const plain = tables.find((t) => t.engine.endsWith('MergeTree') && !t.name.endsWith(LOCAL_SUFFIX) && !t.name.startsWith('.') && !SHARD_PRIVATE_TABLES.includes(t.name));
  if (plain)
    throw new ClusterLayoutError(`${database}.${plain.name} is a ${plain.engine} table, not Distributed: this database was made for one node; sharding it means moving its rows into the shards' _local tables (docs/scale-out.md), or a fresh database`);
}

interface TableRow {
  name: string;
  engine: string;
  sorting_key: string;
}

/**
 * A Distributed table for every local MergeTree-family table and plain view, with its columns: created when
 * missing, re-created when a migration changed the local table's columns. Dropping one loses
 * nothing: tapfleet inserts through them synchronously (runtime/clickhouse.ts), so none holds
 * rows waiting to be sent.
 */
export async function ensureDistributedTables(sql: SqlRunner, database: string, cluster: string, log?: Logger): Promise<void> {
  const tables = await sql.rows<TableRow>(`SELECT name, engine, sorting_key FROM system.tables WHERE database = ${sqlString(database)}`);
  const columns = await sql.rows<{ table: string; name: string; type: string }>(`SELECT table, name, type FROM system.columns WHERE database = ${sqlString(database)}`);
  const shape = (table: string) => columns.filter((c) => c.table === table).map((c) => `${c.name} ${c.type}`).join(', ');
  const byName = new Map(tables.map((t) => [t.name, t]));
  for (const local of tables) {
    // `.inner.` tables of views without TO end in _local too; they are the view's business. A plain
    // View (txn_index, computed on read from txn_events) gets one too: each shard answers for its rows.
    if (!local.name.endsWith(LOCAL_SUFFIX) || local.name.startsWith('.') || !(local.engine.endsWith('MergeTree') || local.engine === 'View')) continue;
    const name = local.name.slice(0, -LOCAL_SUFFIX.length);
    const existing = byName.get(name);
    if (existing && shape(name) === shape(local.name)) continue;
    if (existing) await sql.command(`DROP TABLE ${database}.${name}`);
    const key = shardingKeySql(columns.filter((c) => c.table === local.name).map((c) => c.name), local.sorting_key);
    await sql.command(distributedTableSql(database, cluster, name, key));
    log?.info({ table: name, shardingKey: key, recreated: Boolean(existing) }, 'distributed table created');
  }
}
