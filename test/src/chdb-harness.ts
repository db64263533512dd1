import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'chdb';
import type { SqlRunner } from '@tapfleet/ingest';

/**
 * The current ClickHouse engine in-process (chDB), as the product's SqlRunner, in a
 * throwaway directory removed when the test file ends.
 */
export function chdbRunner(name: string): SqlRunner {
  const dir = mkdtempSync(join(tmpdir(), `tapfleet-${name}-`));
  const session = new Session(dir);
  after(() => {
    session.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    async command(sql) {
      session.query(sql);
    },
    async rows<T>(sql: string) {
      return session.query(sql, 'JSONEachRow').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
    },
  };
}
