import type { ClickHouseClient } from '@tapfleet/runtime';
import type { SqlRows } from './query-store.js';

/** ClickHouse failed or was unreachable; the API answers 503 (a bug of ours stays a 500). */
export class HistoryStoreError extends Error {
  readonly code = 'TAPFLEET_HISTORY_STORE';
}

/**
 * The longest one SELECT may run on the server. The client gives up after its request timeout
 * (30 s), but ClickHouse 18.16 keeps running a query whose HTTP client went away, so without a
 * server-side limit a viewer repeating a heavy request piles up work the server never drops.
 */
export const MAX_QUERY_SECONDS = 25;

/**
 * SELECTs through the service's ClickHouse client, in read-only mode: the values in the SQL
 * are escaped literals (18.16 has no bound parameters), and `readonly=2` makes the server
 * itself refuse anything but a read should one ever slip through (2, not 1: 1 would also
 * refuse the max_execution_time sent with the same request).
 */
export function clickHouseRows(ch: ClickHouseClient, maxSeconds = MAX_QUERY_SECONDS): SqlRows {
  return {
    async rows<T>(sql: string): Promise<T[]> {
      try {
        const rs = await ch.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { readonly: '2', max_execution_time: maxSeconds } });
        return await rs.json<T>();
      } catch (e) {
        throw new HistoryStoreError(`the history store did not answer: ${(e as Error).message}`);
      }
    },
  };
}
