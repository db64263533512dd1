import type { ClickHouseClient } from '@clickhouse/client';
import { clickhouseClient } from './client-modules.js';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { clickhousePassword } from './store-auth.js';
import { clientTlsMaterial } from './tls-material.js';

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
  const tls = clickhouseTls(config);
  const { ClickHouseLogLevel, createClient } = clickhouseClient();
  return createClient({
    ...(tls ? { tls } : {}),
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

/**
 * `clickhouse.tls` for an https:// url. The client takes a CA only together with a client
 * certificate or alone; without `caFile` it trusts the system's CAs (no option at all).
 */
function clickhouseTls(config: TapfleetConfig): { ca_cert: Buffer; cert?: Buffer; key?: Buffer } | undefined {
  if (!config.clickhouse.tls) return undefined;
  if (!config.clickhouse.url.startsWith('https:')) throw new Error(`clickhouse.tls is set but clickhouse.url ${config.clickhouse.url} is not https://`);
  const m = clientTlsMaterial(config.clickhouse.tls, 'ClickHouse');
  if (!m.ca) {
    if (m.cert) throw new Error('clickhouse.tls: a client certificate needs clickhouse.tls.caFile too (the client library takes them together)');
    return undefined;
  }
  return m.cert && m.key ? { ca_cert: m.ca, cert: m.cert, key: m.key } : { ca_cert: m.ca };
}
