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
  statements: MigrationStatement[];
}

/**
 * Server features a statement may need. A statement marked `-- requires: codecs` is an
 * optional improvement: applied where the server has the feature, skipped on older
 * ones (Debian's 18.16), so the schema stays valid on both.
 */
export const SERVER_FEATURES = { codecs: [19, 11], ttl: [19, 6] } as const;
export type ServerFeature = keyof typeof SERVER_FEATURES;

export interface MigrationStatement {
  sql: string;
  requires: ServerFeature[];
}

/** The features a server of this version (`SELECT version()`, e.g. `18.16.1`) has. */
export function serverFeatures(version: string): Set<ServerFeature> {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const have = new Set<ServerFeature>();
  for (const [f, [M, m]] of Object.entries(SERVER_FEATURES) as [ServerFeature, readonly [number, number]][])
    if (major > M || (major === M && minor >= m)) have.add(f);
  return have;
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('../clickhouse/', import.meta.url));
const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function parseMigration(fileName: string, text: string, database: string): Migration {
  const m = FILE_NAME.exec(fileName);
  if (!m) throw new Error(`migration file ${fileName} is not named NNNN_name.sql`);
  const statements = text
    .replaceAll('{db}', database)
    .split(/^;\s*$/m)
    .map((block) => {
      const requires = [...block.matchAll(/^\s*--\s*requires:\s*([a-z, ]+)$/gm)].flatMap((r) => r[1]!.split(',').map((x) => x.trim()));
      for (const f of requires) if (!(f in SERVER_FEATURES)) throw new Error(`migration ${fileName}: unknown feature '${f}' in a requires: line`);
      return { sql: block.replace(/^\s*--.*$/gm, '').trim(), requires: requires as ServerFeature[] };
    })
    .filter((s) => s.sql.length > 0);
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
