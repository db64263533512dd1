/**
 * The CLI's bundle (scripts/bundle-cli.mjs): bin/tapfleet.js runs it while it is current, it
 * does what the packages do (every command's help, a kernel `run` cold and cached, which reads
 * the compiler's headers, the schemas' include dir and the runner binary through paths found
 * from their own modules), and a package rebuilt by `tsc -b` alone makes bin/ run the packages.
 * Which code ran is read from a module trace (module-trace.ts), not guessed from timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allCommands } from '@tapfleet/cli';
import { compileCacheDir } from '@tapfleet/local';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { BUNDLE_DIR, bundleCurrent, isBundleFile, readStamp, STAMP_FILE } from './cli-bundle.js';

const TRACE_HOOK = join(PROJECT_ROOT, 'test', 'dist', 'cli', 'module-trace.js');
const BIN = join(PROJECT_ROOT, 'bin', 'tapfleet.js');

/** `tapfleet ARGS`, traced: its outcome and whether it ran the bundle (some bundle file loaded) or the packages. */
function tapfleet(args: string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tf-bundle-'));
  const trace = join(dir, 'modules');
  writeFileSync(trace, '');
  try {
    const r = spawnSync(process.execPath, ['--import', TRACE_HOOK, BIN, ...args], {
      encoding: 'utf8', cwd: PROJECT_ROOT, env: { ...process.env, ...env, TAPFLEET_MODULE_TRACE: trace },
    });
    const modules = readFileSync(trace, 'utf8').split('\n').map((l) => l.replace(/^(esm|cjs) (file:\/\/)?/, ''));
    const ran = modules.some(isBundleFile) ? 'bundle' : 'packages';
    // Never both: a bundle that fell back half-way would load two copies of every schema.
    if (ran === 'bundle') assert.ok(!modules.some((m) => /\/(schemas|services\/[^/]+|agents\/[^/]+)\/dist\/(index|main)\.js$/.test(m) && !m.includes('/bundle/')), `bundle and packages both loaded: ${modules.join('\n')}`);
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, ran };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the build made the bundle current, and bin/tapfleet.js runs it (TAPFLEET_NO_BUNDLE=1 runs the packages)', () => {
  assert.ok(bundleCurrent(), 'services/cli/bundle is absent or older than the packages: `npm run build` (scripts/setup.sh does) makes it');
  assert.equal(tapfleet(['--help']).ran, 'bundle');
  assert.equal(tapfleet(['--help'], { TAPFLEET_NO_BUNDLE: '1' }).ran, 'packages');
});

test('every command\'s --help from the bundle prints exactly what the packages print', async () => {
  const registry = await allCommands();
  assert.ok(registry.length > 20);
  for (const args of [['--help'], ...registry.map((c) => [...c.path, '--help'])]) {
    const bundled = tapfleet(args);
    const packages = tapfleet(args, { TAPFLEET_NO_BUNDLE: '1' });
    assert.equal(bundled.ran, 'bundle', args.join(' '));
    assert.equal(bundled.code, 0, `${args.join(' ')}: ${bundled.stderr}`);
    assert.deepEqual({ code: bundled.code, stdout: bundled.stdout, stderr: bundled.stderr }, { code: packages.code, stdout: packages.stdout, stderr: packages.stderr }, args.join(' '));
  }
});

test('tapfleet run from the bundle compiles (headers found from the compiler\'s and the schemas\' packages), then runs from its compile cache, under the key the packages use', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tf-bundle-data-'));
  try {
    const args = ['run', 'docs/examples/syscalls-by-comm.tap', '-c', '/usr/bin/python3.11 -c "import os\nfor i in range(40): os.getpid()"'];
    for (const which of ['cold', 'cached']) {
      const r = tapfleet(args, { TAPFLEET_DATA_DIR: dataDir });
      assert.equal(r.ran, 'bundle', which);
      assert.equal(r.code, 0, `${which}: ${r.stderr}`);
      assert.match(r.stdout, /^@calls\[python3\.11\]: 40$/m, which);
    }
    // The key is made from the packages' compiled files either way: the packages find the bundle's entry.
    const entries = () => readdirSync(compileCacheDir(dataDir)).filter((f) => f.endsWith('.json'));
    assert.equal(entries().length, 1);
    const packages = tapfleet(args, { TAPFLEET_DATA_DIR: dataDir, TAPFLEET_NO_BUNDLE: '1' });
    assert.equal(packages.code, 0, packages.stderr);
    assert.match(packages.stdout, /^@calls\[python3\.11\]: 40$/m);
    assert.equal(entries().length, 1, 'the same key bundled and not');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the bundle keys the compile cache on the compiled files it was built from: one added since (no tsc) is new code to the packages, not to the bundle, which does not run it', () => {
  assert.ok(bundleCurrent(), 'the bundle is current to begin with');
  const dataDir = mkdtempSync(join(tmpdir(), 'tf-bundle-key-'));
  // A compiled file in a package the key covers, made by no tsc run: the bundle stays current.
  const added = join(PROJECT_ROOT, 'services', 'compiler', 'dist', 'cli-bundle-key-probe.js');
  const entries = () => readdirSync(compileCacheDir(dataDir)).filter((f) => f.endsWith('.json')).length;
  const run = (env: Record<string, string> = {}) => {
    const r = tapfleet(['run', 'docs/examples/syscalls-by-comm.tap', '-c', '/usr/bin/python3.11 -c "import os\nfor i in range(10): os.getpid()"'], { TAPFLEET_DATA_DIR: dataDir, ...env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^@calls\[python3\.11\]: 10$/m);
    return r.ran;
  };
  try {
    assert.equal(run(), 'bundle');
    assert.equal(entries(), 1);
    writeFileSync(added, 'export {};\n');
    assert.ok(bundleCurrent(), 'a file added by hand is not a tsc run');
    assert.equal(run(), 'bundle');
    assert.equal(entries(), 1, 'the bundle runs the code it was built from: the same key');
    assert.equal(run({ TAPFLEET_NO_BUNDLE: '1' }), 'packages');
    assert.equal(entries(), 2, 'the packages\' compiler has a file more: a new compiler, a new key');
    rmSync(added);
    assert.equal(run({ TAPFLEET_NO_BUNDLE: '1' }), 'packages');
    assert.equal(entries(), 2, 'without it, the packages key on the files as the bundle\'s build did');
  } finally {
    rmSync(added, { force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a package rebuilt by tsc alone (its tsconfig.tsbuildinfo newer) makes bin/tapfleet.js run the packages, until the bundle is built again', () => {
  assert.ok(bundleCurrent(), 'the bundle is current to begin with');
  // services/cli: the package no other bundled package depends on, so the touch reaches no other project's up-to-date check.
  const info = join(PROJECT_ROOT, 'services', 'cli', 'tsconfig.tsbuildinfo');
  assert.ok(Object.keys(readStamp().inputs).includes('services/cli/tsconfig.tsbuildinfo'), 'the stamp watches every bundled package');
  const before = readStamp().build;
  try {
    const later = new Date(Date.now() + 1000);
    utimesSync(info, later, later);
    assert.equal(bundleCurrent(), false);
    const stale = tapfleet(['--help']);
    assert.equal(stale.code, 0, stale.stderr);
    assert.equal(stale.ran, 'packages', 'a stale bundle never runs');
    assert.match(stale.stdout, /^usage: tapfleet/m);
    // A stamp that cannot be read is no bundle either.
    const stamp = readFileSync(STAMP_FILE, 'utf8');
    try {
      writeFileSync(STAMP_FILE, '{');
      assert.equal(tapfleet(['--help']).ran, 'packages');
    } finally {
      writeFileSync(STAMP_FILE, stamp);
    }
  } finally {
    // The build stamps the new mtime: the bundle is current again, as after `npm run build`.
    execFileSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'bundle-cli.mjs')], { cwd: PROJECT_ROOT, stdio: 'pipe' });
  }
  assert.ok(bundleCurrent());
  assert.equal(tapfleet(['--help']).ran, 'bundle');
  // A new build goes beside the last, which processes started from it may still import chunks from.
  assert.notEqual(readStamp().build, before);
  assert.ok(existsSync(join(BUNDLE_DIR, before, 'tapfleet.mjs')), 'the earlier build is kept');
});

test('a current stamp naming a build that is not there, or no build at all, runs the packages: no command fails on a missing or hostile bundle', () => {
  assert.ok(bundleCurrent(), 'the bundle is current to begin with');
  const stamp = readFileSync(STAMP_FILE, 'utf8');
  const { build, inputs } = readStamp();
  try {
    // A build directory removed by hand (or an old build's cleanup) while its stamp still names it; a stamp's build that is no build's name; one that watches nothing.
    for (const bad of [{ build: 'build-gone', inputs }, { build: null, inputs }, { build: '../../../../tmp', inputs }, { build, inputs: {} }, { build, inputs: [] }]) {
      writeFileSync(STAMP_FILE, JSON.stringify(bad));
      const r = tapfleet(['--help']);
      assert.equal(r.code, 0, `${JSON.stringify(bad).slice(0, 80)}: ${r.stderr}`);
      assert.equal(r.ran, 'packages', JSON.stringify(bad).slice(0, 80));
      assert.match(r.stdout, /^usage: tapfleet/m);
    }
  } finally {
    writeFileSync(STAMP_FILE, stamp);
  }
  assert.equal(tapfleet(['--help']).ran, 'bundle');
});
