import type { Logger } from '@tapfleet/runtime';
import { loadMigrations, serverFeatures, sqlString, type ServerFeature } from '@tapfleet/schemas';
import type { SqlRunner } from './sql-runner.js';

export interface MigrationReport {
  serverVersion: string;
  applied: number[];
  /** Optional statements skipped because the server lacks a feature (e.g. codecs on 18.16). */
  skipped: { version: number; feature: ServerFeature }[];
}

/**
 * Applies every migration not yet recorded in tapfleet_migrations, in order. Each
 * statement is idempotent (IF NOT EXISTS, MODIFY COLUMN), so a run interrupted halfway
 * simply runs again; running twice is a no-op. `rewrite` adapts each statement to where it runs
 * (one shard of a cluster: cluster-migrate.ts).
 */
export async function migrate(sql: SqlRunner, database: string, log?: Logger, rewrite: (statement: string) => string = (s) => s): Promise<MigrationReport> {
  const [{ version = '0' } = {}] = await sql.rows<{ version: string }>('SELECT version() AS version');
  const features = serverFeatures(version);
  const migrations = loadMigrations(database);
  const report: MigrationReport = { serverVersion: version, applied: [], skipped: [] };
  const run = async (m: (typeof migrations)[number]) => {
    for (const s of m.statements) {
      const missing = s.requires.find((f) => !features.has(f));
      if (missing) report.skipped.push({ version: m.version, feature: missing });
      else await sql.command(rewrite(s.sql));
    }
  };
  await run(migrations[0]!); // the ledger itself; idempotent
  const done = new Set((await sql.rows<{ version: number | string }>(`SELECT version FROM ${database}.tapfleet_migrations`)).map((r) => Number(r.version)));
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    await run(m);
    await sql.command(`INSERT INTO ${database}.tapfleet_migrations (version, name, applied_at) VALUES (${m.version}, ${sqlString(m.name)}, now())`);
    report.applied.push(m.version);
    log?.info({ version: m.version, name: m.name }, 'migration applied');
  }
  return report;
}
