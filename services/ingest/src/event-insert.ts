import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@tapfleet/runtime';
import { PROBE_EVENT_COLUMNS } from './event-slots.js';

/** Where one insert of probe_events rows goes: a connection and a table (a shard's, once there are shards). */
export interface EventRowsTarget {
  ch: ClickHouseClient;
  database: string;
  table: string;
}

/**
 * The one way event rows reach ClickHouse: RowBinary rows (PROBE_EVENT_COLUMNS order) in
 * one INSERT. Resolves once ClickHouse confirmed it; rejects otherwise (nothing of it is
 * then acked). A routing seam chooses `target` per group of rows.
 */
export async function insertEventRows(target: EventRowsTarget, body: Buffer): Promise<void> {
  const result = await target.ch.exec({
    query: `INSERT INTO ${target.database}.${target.table} (${PROBE_EVENT_COLUMNS.join(', ')}) FORMAT RowBinary`,
    values: Readable.from([body], { objectMode: false }),
  });
  // Drain the (empty) response so the socket goes back to the pool.
  for await (const _ of result.stream) void _;
}
