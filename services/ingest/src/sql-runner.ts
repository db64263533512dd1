import type { ClickHouseClient } from '@tapfleet/runtime';

/**
 * The SQL surface the product uses, so the same migrations and queries run on a
 * clickhouse-server (through @clickhouse/client) and, in the compatibility test, on
 * the current engine embedded in chDB.
 */
export interface SqlRunner {
  /** A statement without a result (DDL, ALTER, INSERT ... VALUES). */
  command(sql: string): Promise<void>;
  /** A SELECT; rows as objects (JSONEachRow: 64-bit integers arrive as strings). */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
}

export function clickHouseRunner(client: ClickHouseClient): SqlRunner {
  return {
    async command(sql) {
      await client.command({ query: sql });
    },
    async rows<T>(sql: string) {
      const rs = await client.query({ query: sql, format: 'JSONEachRow' });
      return rs.json<T>();
    },
  };
}

