import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { clickhousePassword } from './store-auth.js';

export type { ClickHouseClient };

export interface ClickHouseClientOptions {
  /** Use this database instead of the configured one (`default` to create the configured one). */
  database?: string;
  requestTimeoutMs?: number;
  /** Concurrent sockets; ingest raises it to keep several inserts in flight. */
  maxOpenConnections?: number;
  /** This server instead of clickhouse.url: one shard of a cluster (clickhouseShardUrls), for per-shard work. */
  url?: string;
}

/** Every shard's URL, clickhouse.url first: the order rows are placed in (shardOfKey). */
export const clickhouseShardUrls = (config: TapfleetConfig): string[] => [config.clickhouse.url, ...config.clickhouse.shards.map((s) => s.url)];

/**
 * With shards, tables are Distributed ones (docs/scale-out.md). An insert into one returns only
 * once every shard stored its rows (the default queues them on the receiving node and sends them
 * later: an ack would then promise what a crash can lose). A query whose IN subquery reads a
 * Distributed table too runs that subquery once, over the whole cluster, and ships its result
 * (`global`): right wherever the rows live (18.16 refuses such queries by default).
 */
const CLUSTER_SETTINGS = { insert_distributed_sync: 1, distributed_product_mode: 'global' } as const;

/**
 * The one ClickHouse client factory; its password: the configured one, else the stack's password
 * file's (store-auth.ts), read here, so make the client after `stack up` created it.
 */
export function createClickHouse(config: TapfleetConfig, options: ClickHouseClientOptions = {}): ClickHouseClient {
  return createClient({
    url: options.url ?? config.clickhouse.url,
    username: config.clickhouse.username,
    password: clickhousePassword(config) ?? '',
    database: options.database ?? config.clickhouse.database,
    request_timeout: options.requestTimeoutMs ?? 30_000,
    max_open_connections: options.maxOpenConnections ?? 4,
    application: 'tapfleet',
    ...(config.clickhouse.shards.length ? { clickhouse_settings: CLUSTER_SETTINGS } : {}),
    // Every failure also rejects the call, which our code logs through the one logger;
    // the client's own console logging would print each one twice, unstructured.
    log: { level: ClickHouseLogLevel.OFF },
  });
}
