import type { ClickHouseClient } from '@tapfleet/runtime';
import type { SqlRows } from './query-store.js';

/** ClickHouse failed or was unreachable; the API answers 503 (a bug of ours stays a 500). */
export class HistoryStoreError extends Error {
  readonly code = 'TAPFLEET_HISTORY_STORE';
}

/**
 * SELECTs through the service's ClickHouse client, in read-only mode: the values in the SQL
 * are escaped literals (18.16 has no bound parameters), and `readonly=1` makes the server
 * itself refuse anything but a read should one ever slip through.
 */
export function clickHouseRows(ch: ClickHouseClient): SqlRows {
  return {
    async rows<T>(sql: string): Promise<T[]> {
      try {
        const rs = await ch.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { readonly: '1' } });
        return await rs.json<T>();
      } catch (e) {
        throw new HistoryStoreError(`the history store did not answer: ${(e as Error).message}`);
      }
    },
  };
}
