import { createClickHouse, type ClickHouseClient } from '@tapfleet/runtime';
import { localTable, murmurHash2_32, type TapfleetConfig } from '@tapfleet/schemas';

import type { EventRowsTarget } from './event-insert.js';

/**
 * Which server and table a probe_events row is inserted into: the one seam between the event path
 * and the cluster layout (schemas/src/clickhouse-sharding.ts). One node: `probe_events` on the one
 * client. Shards, `direct`: the row's shard (by transaction key, else host), straight into its
 * `probe_events_local`. Shards, `distributed`: the Distributed `probe_events` on the first node,
 * which places each row by the same key and returns once every shard stored it.
 */
export class ShardRouting {
  private constructor(
    readonly targets: readonly EventRowsTarget[],
    private readonly owned: readonly ClickHouseClient[],
  ) {}

  /** `main` is the client of clickhouse.url (ingest's own); other shards get their own clients. */
  static fromConfig(config: TapfleetConfig, main: ClickHouseClient, maxOpenConnections: number): ShardRouting {
    const db = config.clickhouse.database;
    if (!config.clickhouse.shards.length || config.ingest.shardInserts === 'distributed') return new ShardRouting([{ ch: main, database: db, table: 'probe_events' }], []);
    const others = config.clickhouse.shards.map((s) => createClickHouse(config, { url: s.url, maxOpenConnections }));
    const clients = [main, ...others];
    return new ShardRouting(clients.map((ch) => ({ ch, database: db, table: localTable('probe_events') })), others);
  }

  /**
   * The index in `targets` of a row whose placement key (schemas' eventShardKey: its transaction
   * key's text, else its host) is bytes[start..end): shardOfKey over the key's bytes as written,
   * with no string made per row.
   */
  readonly shardOfKey = (bytes: Uint8Array, start: number, end: number): number => (this.targets.length === 1 ? 0 : murmurHash2_32(bytes, start, end) % this.targets.length);

  /** True when every target server answers (ingest resumes after an outage only then). */
  async ping(): Promise<boolean> {
    const answers = await Promise.all(this.targets.map((t) => t.ch.ping().then((r) => r.success, () => false)));
    return answers.every(Boolean);
  }

  async close(): Promise<void> {
    await Promise.all(this.owned.map((c) => c.close()));
  }
}
