/**
 * How tapfleet's tables are laid out over ClickHouse shards (config `clickhouse.shards`): decided
 * here once, read by the migrations (which tables become what), by ingest (which shard a row goes
 * to) and by the tests.
 *
 * Each table of the migrations is `<name>_local` on every shard (its DDL unchanged but for the
 * names it mentions), and `<name>` is a `Distributed` table over those, on every shard: readers keep
 * their table names. The ledger (tapfleet_migrations) stays one plain table per shard.
 *
 * Rows go to shard `murmurHash2_32(key) % shards`, the key being the transaction key, else the host:
 * a transaction's events, its index rows, its spans and their copies all live on one shard, so
 * ReplacingMergeTree's merges, FINAL, `LIMIT 1 BY` and argMax per span each see every version of a
 * row on one shard, and the Distributed table answers as one node would. A writer that routes rows
 * itself (ingest, straight into the local tables) and one that inserts through the Distributed table
 * pick the same shard: the Distributed table's sharding key is this same function, in SQL.
 */

/** Suffix of the per-shard tables behind a Distributed table of the same name without it. */
export const LOCAL_SUFFIX = '_local';
/** Per-shard bookkeeping, never distributed: each shard records the migrations it has applied. */
export const SHARD_PRIVATE_TABLES: readonly string[] = ['tapfleet_migrations'];

export const localTable = (table: string) => `${table}${LOCAL_SUFFIX}`;

/**
 * MurmurHash2, 32-bit, seed 0: what ClickHouse's `murmurHash2_32(String)` computes (18.16 and
 * current releases), over the UTF-8 bytes. Chosen because 18.16 has it and it is short; 18.16 has no
 * crc32/xxHash32, and cityHash64 would be a page of 64-bit arithmetic in BigInt on the hot path.
 * `start`/`end` hash a range of `bytes` (ingest hashes a key where it wrote it, without a copy).
 */
export function murmurHash2_32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const m = 0x5bd1e995;
  let len = end - start;
  let h = len >>> 0;
  let i = start;
  while (len >= 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
    i += 4;
    len -= 4;
  }
  // The tail: the last 1-3 bytes, folded in from the highest (MurmurHash2's fall-through switch).
  if (len >= 3) h ^= bytes[i + 2]! << 16;
  if (len >= 2) h ^= bytes[i + 1]! << 8;
  if (len >= 1) h = Math.imul(h ^ bytes[i]!, m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h >>> 0;
}

const encoder = new TextEncoder();

/** The key a probe_events row is placed by: its transaction key, else its host. */
export const eventShardKey = (txn: string, host: string): string => (txn !== '' ? txn : host);

/** The shard (0-based, in config order: clickhouse.url first) a row with this key belongs on. */
export const shardOfKey = (key: string, shards: number): number => (shards <= 1 ? 0 : murmurHash2_32(encoder.encode(key)) % shards);

/**
 * A Distributed table's sharding key, in SQL, for a local table with these columns: the same
 * placement as shardOfKey(eventShardKey(txn, host)) where the table has those columns, else by the
 * first column of its sorting key (so ReplacingMergeTree duplicates still meet), else at random.
 */
export function shardingKeySql(columns: readonly string[], sortingKey: string): string {
  const has = (c: string) => columns.includes(c);
  if (has('txn') && has('host')) return "murmurHash2_32(if(txn != '', txn, host))";
  if (has('txn')) return 'murmurHash2_32(txn)';
  if (has('host')) return 'murmurHash2_32(host)';
  const first = sortingKey.split(',')[0]?.trim();
  return first ? `murmurHash2_32(toString(${first}))` : 'rand()';
}

/**
 * A migration statement as it runs on each shard of a cluster: every table or view it names in the
 * database becomes its `_local` twin (CREATE, ALTER, INSERT ... SELECT, materialized views' TO and
 * FROM alike), the ledger excepted. Generic on purpose: a new migration needs no sharded copy, only
 * to name its tables `{db}.name` as all of them do.
 */
export function shardLocalSql(sql: string, database: string): string {
  const qualified = new RegExp(`\\b${database}\\.(\`?)([A-Za-z_][A-Za-z0-9_]*)\\1`, 'g');
  return sql.replace(qualified, (whole, _quote: string, name: string) => (SHARD_PRIVATE_TABLES.includes(name) ? whole : `${database}.${localTable(name)}`));
}

/** The Distributed table `<table>` over `<table>_local` on every shard of the cluster, with the local table's columns. */
export const distributedTableSql = (database: string, cluster: string, table: string, shardingKey: string) =>
  `CREATE TABLE IF NOT EXISTS ${database}.${table} AS ${database}.${localTable(table)} ENGINE = Distributed(${cluster}, ${database}, ${localTable(table)}, ${shardingKey})`;
