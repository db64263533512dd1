import type { ClickHouseClient } from '@clickhouse/client';
import { clickhouseClient } from './client-modules.js';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { clickhousePassword } from './store-auth.js';

export type { ClickHouseClient };

export interface ClickHouseClientOptions {
  /** Use this database instead of the configured one (`default` to create the configured one). */
  database?: string;
  requestTimeoutMs?: number;
  /** Concurrent sockets; ingest raises it to keep several inserts in flight. */
  maxOpenConnections?: number;
}

/**
 * The one ClickHouse client factory; its password: the configured one, else the stack's password
 * file's (store-auth.ts), read here, so make the client after `stack up` created it.
 */
export function createClickHouse(config: TapfleetConfig, options: ClickHouseClientOptions = {}): ClickHouseClient {
  const { ClickHouseLogLevel, createClient } = clickhouseClient();
  return createClient({
    url: config.clickhouse.url,
    username: config.clickhouse.username,
    password: clickhousePassword(config) ?? '',
    database: options.database ?? config.clickhouse.database,
    request_timeout: options.requestTimeoutMs ?? 30_000,
    max_open_connections: options.maxOpenConnections ?? 4,
    application: 'tapfleet',
    // Every failure also rejects the call, which our code logs through the one logger;
    // the client's own console logging would print each one twice, unstructured.
    log: { level: ClickHouseLogLevel.OFF },
  });
}
