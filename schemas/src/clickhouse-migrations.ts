import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/**
 * Versioned ClickHouse DDL lives in `schemas/clickhouse/NNNN_name.sql`, applied in
 * version order and recorded in `tapfleet_migrations`. `{db}` in a file is replaced
 * by the configured database. Statements are separated by lines holding only `;`
 * (ClickHouse's HTTP interface takes one statement per request).
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('../clickhouse/', import.meta.url));
const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function parseMigration(fileName: string, text: string, database: string): Migration {
  const m = FILE_NAME.exec(fileName);
  if (!m) throw new Error(`migration file ${fileName} is not named NNNN_name.sql`);
  const statements = text
    .replaceAll('{db}', database)
    .split(/^;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
  return { version: Number(m[1]), name: m[2] ?? '', statements };
}

/** All migrations in version order; throws on a gap or a duplicate version. */
export function loadMigrations(database: string, dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => parseMigration(f, readFileSync(join(dir, f), 'utf8'), database));
  migrations.forEach((m, i) => {
    if (m.version !== i) throw new Error(`migration versions must run 0,1,2,... without gaps; found ${m.version} at position ${i}`);
  });
  return migrations;
}
