import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMigrations, parseMigration, serverFeatures } from './index.js';

test('the shipped migrations load in order with the database substituted', () => {
  const migrations = loadMigrations('tf_test');
  assert.ok(migrations.length >= 1);
  assert.deepEqual(migrations.map((m) => m.version), migrations.map((_, i) => i));
  assert.match(migrations[0]!.statements[1]!.sql, /CREATE TABLE IF NOT EXISTS tf_test\.tapfleet_migrations/);
  for (const m of migrations) for (const s of m.statements) assert.doesNotMatch(s.sql, /\{db\}/);
});

test('statements split on lone semicolons and lose their comments', () => {
  const m = parseMigration('0003_x.sql', '-- a\nCREATE TABLE {db}.a (x UInt8) ENGINE = Memory\n;\n\nSELECT 1\n;\n', 'db1');
  assert.deepEqual(m, { version: 3, name: 'x', statements: [{ sql: 'CREATE TABLE db1.a (x UInt8) ENGINE = Memory', requires: [] }, { sql: 'SELECT 1', requires: [] }] });
});

test('a `-- requires:` line marks an optional statement; server versions map to features', () => {
  const m = parseMigration('0004_y.sql', '-- requires: codecs\nALTER TABLE t MODIFY COLUMN x UInt64 CODEC(ZSTD)\n;\n', 'db');
  assert.deepEqual(m.statements, [{ sql: 'ALTER TABLE t MODIFY COLUMN x UInt64 CODEC(ZSTD)', requires: ['codecs'] }]);
  assert.throws(() => parseMigration('0004_y.sql', '-- requires: warp\nSELECT 1', 'db'), /unknown feature 'warp'/);
  assert.deepEqual([...serverFeatures('18.16.1')], []);
  assert.deepEqual([...serverFeatures('26.7.3.1')].sort(), ['codecs', 'ttl']);
  assert.deepEqual([...serverFeatures('19.8.3')], ['ttl']);
});

test('a gap in versions or a bad file name is an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-mig-'));
  writeFileSync(join(dir, '0000_a.sql'), 'SELECT 1');
  writeFileSync(join(dir, '0002_c.sql'), 'SELECT 1');
  assert.throws(() => loadMigrations('db', dir), /without gaps; found 2 at position 1/);
  assert.throws(() => parseMigration('1_bad.sql', '', 'db'), /not named NNNN_name.sql/);
});
