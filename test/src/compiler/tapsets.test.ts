import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadTapsets } from '@tapfleet/compiler';
import { compileForThisHost } from '@tapfleet/local';
import { TEST_SIGNING_KEY, traceCommand } from './kernel-harness.js';
import { buildDemo, demoBinaryPaths } from '../demo/demo-pipeline.js';
import { postgresBinDir } from '../postgres/pg-cluster.js';

/**
 * Where tapset placeholders point on this machine: Debian's interpreter has CPython's USDT
 * notes, Debian's postgres its own; the demo's programs are built (if changed) before the tests.
 */
const BINARIES: Record<string, string> = { python: '/usr/bin/python3.11' };

describe('tapsets', () => {
  const { aliases, diagnostics } = loadTapsets();
  before(() => {
    Object.assign(BINARIES, demoBinaryPaths(buildDemo()), { postgres: join(postgresBinDir(), 'postgres') });
  });

  test('every tapset file parses, and every alias has a doc comment', () => {
    assert.deepEqual(diagnostics.map((d) => d.message), []);
    assert.ok(aliases.length >= 10);
  });

  test('every doc line names every local its alias binds', () => {
    const missing = aliases.flatMap((a) => a.assigns.flatMap((s) => (s.kind === 'let' && !new RegExp(`\\$${s.name}\\b`).test(a.doc ?? '') ? [`${a.name}@${a.version ?? 1}: $${s.name}`] : [])));
    assert.deepEqual(missing, []);
  });

  for (const alias of aliases) {
    test(`${alias.name}@${alias.version ?? 1} compiles against this kernel`, async () => {
      const bundle = await compileForThisHost(`${alias.name}.tap`, `probe ${alias.name}@${alias.version ?? 1} { @n = count(); }`, { signingKey: TEST_SIGNING_KEY, tapsets: aliases, binaryPaths: BINARIES });
      assert.ok(bundle.object.length > 0);
    });
  }

  test('an alias runs in the kernel with its locals: syscall.openat sees the path', async () => {
    const r = await traceCommand('probe syscall.openat { emit open { path: $path } }', ['/bin/cat', '/etc/hostname'], { tapsets: aliases });
    assert.ok(r.collected.some((e) => e.fields.path === '/etc/hostname'), JSON.stringify(r.collected.slice(-3).map((e) => e.fields.path)));
  });
});
