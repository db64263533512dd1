import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@tapfleet/runtime';
import { PROBE_EVENT_COLUMNS } from './event-slots.js';
import type { NativeBlock } from './native-block.js';

/** Where one insert of probe_events rows goes: a connection and a table (a shard's, once there are shards). */
export interface EventRowsTarget {
  ch: ClickHouseClient;
  database: string;
  table: string;
}

/**
 * The one way event rows reach ClickHouse: one Native block (PROBE_EVENT_COLUMNS, event-rows.ts)
 * in one INSERT, its column buffers streamed as they are (no copy into one body). Resolves once
 * ClickHouse confirmed it; rejects otherwise (nothing of it is then acked). A routing seam
 * chooses `target` per block.
 */
export async function insertEventRows(target: EventRowsTarget, block: NativeBlock): Promise<void> {
  const result = await target.ch.exec({
    query: `INSERT INTO ${target.database}.${target.table} (${PROBE_EVENT_COLUMNS.join(', ')}) FORMAT Native`,
    values: Readable.from(block.parts(), { objectMode: false }),
  });
  // Drain the (empty) response so the socket goes back to the pool.
  for await (const _ of result.stream) void _;
}
