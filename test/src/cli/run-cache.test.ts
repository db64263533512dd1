/**
 * `tapfleet run`'s compile cache on the real kernel and clang: a repeated run skips clang; a
 * corrupt, tampered or stale entry is a miss that is logged and replaced, never a crash; the
 * cache keeps within its size bound. clang is counted through a wrapper named in the config.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { CompileCacheEntry, parseBundle, verifyBundle } from '@tapfleet/schemas';
import { loadOrCreateSigningKey } from '@tapfleet/compiler';
import { BundleCache, compileCacheDir } from '@tapfleet/local';
import { countedClang } from './counted-clang.js';

const work = mkdtempSync(join(tmpdir(), 'tf-run-cache-'));
after(() => rmSync(work, { recursive: true, force: true }));
const dataDir = join(work, 'data');
const cacheDir = compileCacheDir(dataDir);
const { configFile, clangRuns } = countedClang(work);
const publicKeyPem = () => loadOrCreateSigningKey(join(dataDir, 'keys', 'signing-key.pem')).publicKeyPem;

const entries = () => (existsSync(cacheDir) ? readdirSync(cacheDir).filter((f) => f.endsWith('.json')) : []);

function tapfleet(...args: string[]) {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), ...args, '--config', configFile], {
    encoding: 'utf8', cwd: PROJECT_ROOT, env: { ...process.env, TAPFLEET_DATA_DIR: dataDir, TAPFLEET_LOG_LEVEL: 'warn' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const GETPIDS = ['-c', '/usr/bin/python3.11 -c "import os\nfor i in range(20): os.getpid()"'];
const SCRIPT = 'docs/examples/syscalls-by-comm.tap';

/** The one entry file, parsed and verified as the cache reads it. */
function onlyEntry(): { file: string; entry: CompileCacheEntry } {
  const files = entries();
  assert.equal(files.length, 1, files.join(', '));
  const file = join(cacheDir, files[0]!);
  const entry = CompileCacheEntry.parse(JSON.parse(readFileSync(file, 'utf8')));
  verifyBundle(parseBundle(entry.bundle), publicKeyPem());
  return { file, entry };
}

test('a repeated tapfleet run takes its bundle from the compile cache: clang runs once; --no-cache compiles again', () => {
  const first = tapfleet('run', SCRIPT, ...GETPIDS);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^@calls\[python3\.11\]: 20$/m);
  assert.equal(clangRuns(), 1);
  onlyEntry();

  const second = tapfleet('run', SCRIPT, ...GETPIDS);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /^@calls\[python3\.11\]: 20$/m);
  assert.equal(clangRuns(), 1, 'the second run compiled');

  const uncached = tapfleet('run', SCRIPT, '--no-cache', ...GETPIDS);
  assert.equal(uncached.code, 0, uncached.stderr);
  assert.match(uncached.stdout, /^@calls\[python3\.11\]: 20$/m);
  assert.equal(clangRuns(), 2);
  // An edited script is another key: compiled, stored beside the first.
  const edited = join(work, 'edited.tap');
  writeFileSync(edited, `${readFileSync(join(PROJECT_ROOT, SCRIPT), 'utf8')}\n# edited\n`);
  const other = tapfleet('run', edited, ...GETPIDS);
  assert.equal(other.code, 0, other.stderr);
  assert.equal(clangRuns(), 3);
  assert.equal(entries().length, 2);
  // The tests below work on the first script's entry alone.
  rmSync(join(cacheDir, entries().find((f) => !entryFor(f, SCRIPT))!));
});

/** Whether entry FILE holds the bundle of SCRIPT (by its text). */
function entryFor(file: string, script: string): boolean {
  const entry = CompileCacheEntry.parse(JSON.parse(readFileSync(join(cacheDir, file), 'utf8')));
  return parseBundle(entry.bundle).script === readFileSync(join(PROJECT_ROOT, script), 'utf8');
}

test('a corrupt or tampered cache entry is a miss: logged, replaced, and the run goes on', () => {
  const damages: [string, (text: string) => string][] = [
    ['not JSON', () => '{"format": "tapfleet-compi'],
    ['another schema', (t) => JSON.stringify({ ...JSON.parse(t), format: 'something-else' })],
    ['a tampered script', (t) => {
      const e = CompileCacheEntry.parse(JSON.parse(t));
      const b = JSON.parse(e.bundle) as { script: string };
      return JSON.stringify({ ...e, bundle: JSON.stringify({ ...b, script: `${b.script}# injected\n` }) });
    }],
  ];
  for (const [what, damage] of damages) {
    const { file } = onlyEntry();
    writeFileSync(file, damage(readFileSync(file, 'utf8')));
    const before = clangRuns();
    const r = tapfleet('run', SCRIPT, ...GETPIDS);
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    assert.match(r.stdout, /^@calls\[python3\.11\]: 20$/m, what);
    assert.match(r.stderr, /compile cache entry failed its checks; recompiling/, what);
    assert.equal(clangRuns(), before + 1, what);
    onlyEntry(); // replaced by a good one
    const again = tapfleet('run', SCRIPT, ...GETPIDS);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(clangRuns(), before + 1, `${what}: the replacement is used`);
  }
});

test('a rebuilt probed binary makes its cache entry stale; the same binary touched does not', () => {
  const bin = join(work, 'tracee');
  const build = (variant?: string) => execFileSync('gcc', ['-O1', '-Wl,--build-id', ...(variant ? [`-DTRACEE_VARIANT="${variant}"`] : []), '-o', bin, join(PROJECT_ROOT, 'test', 'fixtures', 'tracee.c')]);
  build();
  const script = join(work, 'uprobe.tap');
  writeFileSync(script, `probe uprobe:${bin}:tf_add {\n    emit add { a: arg0 }\n}\n`);
  const run = () => tapfleet('run', script, '-c', `${bin} calls 3`);
  const adds = (out: string) => out.split('\n').filter((l) => l.startsWith('add ')).length;

  const before = clangRuns();
  const first = run();
  assert.equal(first.code, 0, first.stderr);
  assert.equal(adds(first.stdout), 3, first.stdout);
  assert.equal(clangRuns(), before + 1);

  execFileSync('touch', [bin]);
  const touched = run();
  assert.equal(touched.code, 0, touched.stderr);
  assert.equal(adds(touched.stdout), 3);
  assert.equal(clangRuns(), before + 1, 'same build-id: still a hit');

  build('rebuilt');
  const rebuilt = run();
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  assert.equal(adds(rebuilt.stdout), 3);
  assert.match(rebuilt.stderr, /compile cache entry is stale; recompiling/);
  assert.equal(clangRuns(), before + 2);
});

test('the compile cache keeps within its size bound, least recently used out', () => {
  const files = entries();
  assert.ok(files.length >= 1);
  const text = readFileSync(join(cacheDir, files[0]!), 'utf8');
  const bundle = parseBundle(CompileCacheEntry.parse(JSON.parse(text)).bundle);
  const dir = join(work, 'bounded');
  const cache = new BundleCache(dir, { maxBytes: Math.floor(text.length * 2.5) });
  const key = (n: number) => String(n).repeat(64);
  cache.put(key(1), bundle);
  cache.put(key(2), bundle);
  assert.ok(cache.get(key(1), publicKeyPem()), 'entry 1 is read (and so used last)');
  cache.put(key(3), bundle);
  assert.deepEqual(readdirSync(dir).sort(), [`${key(1)}.json`, `${key(3)}.json`]);
  assert.equal(cache.stats.evicted, 1);
  assert.equal(cache.get(key(2), publicKeyPem()), undefined);
  assert.deepEqual({ hits: cache.stats.hits, misses: cache.stats.misses, rejected: cache.stats.rejected }, { hits: 1, misses: 1, rejected: 0 });
});

test('a cache that cannot be written (its directory a file here) is logged; the run goes on with the compiled bundle', () => {
  const blocked = join(work, 'blocked');
  // compile-cache is a plain file: the store's mkdir fails as on a full or read-only disk.
  execFileSync('mkdir', ['-p', blocked]);
  writeFileSync(compileCacheDir(blocked), 'not a directory');
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), 'run', SCRIPT, ...GETPIDS, '--config', configFile], {
    encoding: 'utf8', cwd: PROJECT_ROOT, env: { ...process.env, TAPFLEET_DATA_DIR: blocked, TAPFLEET_LOG_LEVEL: 'warn' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^@calls\[python3\.11\]: 20$/m);
  assert.match(r.stderr, /could not store the compiled bundle in the compile cache; running without it/);
  assert.deepEqual(readdirSync(blocked).filter((f) => f.includes('.tmp-')), [], 'no partial file left');
});
