import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventShardKey, loadMigrations, murmurHash2_32, shardingKeySql, shardLocalSql, shardOfKey } from './index.js';

test('murmurHash2_32 equals ClickHouse 18.16\'s murmurHash2_32 (values read from the server), so ingest and Distributed place rows alike', () => {
  // SELECT murmurHash2_32(s) on clickhouse-server 18.16.1, for each string.
  const fromServer: [string, number][] = [['abc', 324500635], ['', 0], ['a', 2456313694], ['ab', 446775395], ['abcd', 646393889], ['order-12345', 2422026799], ['héllo wörld 🚀', 1432791399]];
  for (const [s, h] of fromServer) assert.equal(murmurHash2_32(new TextEncoder().encode(s)), h, JSON.stringify(s));
  assert.equal(shardOfKey('abc', 2), 324500635 % 2);
  assert.equal(shardOfKey('anything', 1), 0);
  assert.equal(eventShardKey('', 'host-a'), 'host-a');
  assert.equal(eventShardKey('o-1', 'host-a'), 'o-1');
});

test('on a shard, every table and view a migration names becomes its _local twin; the ledger stays', () => {
  const db = 'tf_test';
  const all = loadMigrations(db).flatMap((m) => m.statements.map((s) => shardLocalSql(s.sql, db)));
  const mv = all.find((s) => s.includes('txn_index_mv'))!;
  assert.match(mv, /^CREATE MATERIALIZED VIEW IF NOT EXISTS tf_test\.txn_index_mv_local TO tf_test\.txn_index_local\b/);
  assert.match(mv, /FROM tf_test\.probe_events_local\b/);
  assert.ok(all.includes('INSERT INTO tf_test.txn_events_local SELECT * FROM tf_test.probe_events_local WHERE txn != \'\''));
  assert.match(all.find((s) => s.includes('tapfleet_migrations'))!, /CREATE TABLE IF NOT EXISTS tf_test\.tapfleet_migrations\n/);
  assert.equal(shardLocalSql('ALTER TABLE tf_test.`agent_status` ADD COLUMN x UInt8', db), 'ALTER TABLE tf_test.agent_status_local ADD COLUMN x UInt8');
  assert.equal(shardLocalSql('SELECT 1 FROM other.probe_events', db), 'SELECT 1 FROM other.probe_events', 'another database is left alone');
});

test('every shipped migration names its tables with the database (what lets the shard transform find them)', () => {
  const db = 'tf_test';
  const reference = /\b(FROM|INTO|JOIN|TO|TABLE(?: IF (?:NOT )?EXISTS)?|VIEW(?: IF (?:NOT )?EXISTS)?)\s+([A-Za-z_`][A-Za-z0-9_.`]*)/g;
  for (const m of loadMigrations(db)) for (const s of m.statements) {
    for (const [, keyword, name] of s.sql.matchAll(reference)) assert.ok(name!.startsWith(`${db}.`), `migration ${m.version}: ${keyword} ${name} is not qualified with {db}`);
  }
});

test('a Distributed table is keyed like ingest routes: the transaction key, else the host; else the sorting key\'s first column', () => {
  assert.equal(shardingKeySql(['date', 'txn', 'host'], 'deployment, event'), "murmurHash2_32(if(txn != '', txn, host))");
  assert.equal(shardingKeySql(['txn', 'deployment'], 'txn, deployment'), 'murmurHash2_32(txn)');
  assert.equal(shardingKeySql(['deployment', 'host'], 'deployment, host'), 'murmurHash2_32(host)');
  assert.equal(shardingKeySql(['bundle', 'event_id'], 'bundle, event_id'), 'murmurHash2_32(toString(bundle))');
  assert.equal(shardingKeySql(['x'], ''), 'rand()');
});
