import { clickhouseShardUrls, createClickHouse, type Logger } from '@tapfleet/runtime';
import { localTable, type TapfleetConfig } from '@tapfleet/schemas';
import { migrateShards } from './cluster-migrate.js';
import { migrate, type MigrationReport } from './migrate.js';
import { applyRetention } from './retention.js';
import { clickHouseRunner, type SqlRunner } from './sql-runner.js';

/** Runs `work` with a client in the `default` database of every shard (one: clickhouse.url), then closes them. */
async function onEachShard<T>(config: TapfleetConfig, work: (shards: SqlRunner[]) => Promise<T>): Promise<T> {
  const admins = clickhouseShardUrls(config).map((url) => createClickHouse(config, { database: 'default', url }));
  try {
    return await work(admins.map(clickHouseRunner));
  } finally {
    await Promise.all(admins.map((a) => a.close()));
  }
}

/** The migrations where the configuration says the tables are: one node as they are, or every shard (cluster-migrate.ts). One report per server. */
export async function migrateConfigured(config: TapfleetConfig, log?: Logger): Promise<MigrationReport[]> {
  const { database, shards, cluster } = config.clickhouse;
  return onEachShard(config, async (runners) => (shards.length ? migrateShards(runners, database, cluster, log) : [await migrate(runners[0]!, database, log)]));
}

/** Retention drops partitions of the tables that hold them: on a cluster, each shard's local tables. */
export async function retainOnEveryShard(config: TapfleetConfig, log: Logger): Promise<void> {
  const { database, shards } = config.clickhouse;
  const days = shards.length ? Object.fromEntries(Object.entries(config.ingest.retentionDays).map(([t, d]) => [localTable(t), d])) : config.ingest.retentionDays;
  await onEachShard(config, async (runners) => {
    for (const sql of runners) await applyRetention(sql, database, days, log);
  });
}
