/**
 * What each command loads: `tapfleet --help` and `tapfleet run` must not pay for client
 * libraries they never use, and a `run` whose bundle is in the compile cache must not load the
 * compiler at all. Asserted on the modules a real process loaded (module-trace.ts), not on time:
 * once running the packages themselves, once running the CLI's bundle (scripts/bundle-cli.mjs),
 * whose files are read back as the modules each holds: its lazy chunks must stay as lazy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { bundleContents, bundleCurrent, isBundleFile, unbundled } from './cli-bundle.js';

const TRACE_HOOK = join(PROJECT_ROOT, 'test', 'dist', 'cli', 'module-trace.js');
/** The client libraries: NATS, ClickHouse, Redis, Kafka, OpenTelemetry, Prometheus. */
const CLIENTS = /node_modules\/(@nats-io|@clickhouse|ioredis|kafkajs|@opentelemetry|prom-client)\//;
/** The logger: made on first use, so a command that logs nothing loads none of it. */
const LOGGER = /node_modules\/pino\//;
/** Node's modules for HTTP (with TLS), compression and perf_hooks: services and API calls need them, a run and help do not (each costs a start ~1-3 ms). */
const UNUSED_BUILTINS = /^node:(http|https|http2|zlib|perf_hooks)$/;
/** The compiler's front end, and the host discovery that runs it to find a script's targets. */
const FRONT_END = /services\/compiler\/dist\/(parser|compile|compile-bundle|passes\/[^/]+)\.js$|services\/local\/dist\/host-compile\.js$/;

type Mode = 'packages' | 'bundle';
/**
 * Both ways the CLI runs. A stale or absent bundle fails the bundle mode rather than skipping it:
 * `npm test` builds it (setup.sh), and a user runs what `npm run build` made.
 */
const MODES: Mode[] = ['packages', 'bundle'];
const bundleReady = (mode: Mode) => assert.ok(mode === 'packages' || bundleCurrent(), 'the CLI bundle is absent or older than the packages: `npm run build` makes it');

/** Runs `tapfleet ARGS` in a fresh process; its exit code, output and every module it loaded (a bundle file read as the modules it holds). */
function traced(mode: Mode, args: string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tf-modules-'));
  const trace = join(dir, 'modules');
  writeFileSync(trace, '');
  try {
    const r = spawnSync(process.execPath, ['--import', TRACE_HOOK, join(PROJECT_ROOT, 'bin', 'tapfleet.js'), ...args], {
      encoding: 'utf8', cwd: PROJECT_ROOT, env: { ...process.env, ...env, TAPFLEET_MODULE_TRACE: trace, TAPFLEET_NO_BUNDLE: mode === 'packages' ? '1' : '0' },
    });
    const loaded = [...new Set(readFileSync(trace, 'utf8').split('\n').filter(Boolean).map((l) => l.replace(/^(esm|cjs) (file:\/\/)?/, '')))];
    // The mode asked for is the code that ran.
    assert.equal(loaded.some(isBundleFile), mode === 'bundle', `tapfleet ${args.join(' ')} (${mode}) loaded:\n${loaded.join('\n')}`);
    const modules = mode === 'bundle' ? unbundled(loaded, bundleContents()) : loaded;
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, modules };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const matching = (modules: string[], re: RegExp) => modules.filter((m) => re.test(m));

for (const mode of MODES) {
  test(`${mode}: tapfleet --help and tapfleet run --help load no client library, no compiler, no logger and no service code`, () => {
    bundleReady(mode);
    for (const args of [['--help'], ['run', '--help'], ['agent', '--help'], ['deploy', '--help']]) {
      const r = traced(mode, args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^usage: tapfleet/m);
      // The trace works: it saw the CLI itself and the config's schemas.
      assert.ok(matching(r.modules, /services\/cli\/dist\/main\.js$/).length === 1, r.modules.join('\n'));
      assert.deepEqual(matching(r.modules, CLIENTS), [], `tapfleet ${args.join(' ')}`);
      assert.deepEqual(matching(r.modules, FRONT_END), [], `tapfleet ${args.join(' ')}`);
      assert.deepEqual(matching(r.modules, LOGGER), [], `tapfleet ${args.join(' ')}`);
      assert.deepEqual(matching(r.modules, UNUSED_BUILTINS), [], `tapfleet ${args.join(' ')}`);
      assert.deepEqual(matching(r.modules, /(host-agent|control-plane|ingest|assembler|query)\/dist\/(?!commands|agent-command|api-client|query-client|text-format|format)[^/]+\.js$/), [], `tapfleet ${args.join(' ')}`);
      // The single-host package's command table only: no session, host discovery, cache, output or runner.
      assert.deepEqual(matching(r.modules, /services\/local\/dist\/(run-session|host-compile|compile-cache\/|output\/)|agents\/runner\/dist\//), [], `tapfleet ${args.join(' ')}`);
    }
    // A command loads the command tables only up to its own: `run` needs none of the others.
    const run = traced(mode, ['run', '--help']);
    assert.deepEqual(matching(run.modules, /\/(stack|control-plane|host-agent|ingest|assembler|query)\/dist\//), []);
    // The agent's word goes straight to its table: the host's long-running process holds no other table's modules.
    const agent = traced(mode, ['agent', '--help']);
    assert.deepEqual(matching(agent.modules, /\/(stack|compiler|control-plane|ingest|assembler|query)\/dist\//), []);
  });

  test(`${mode}: tapfleet run loads no client library; with its bundle in the compile cache it loads no compiler and no logger either`, () => {
    bundleReady(mode);
    const dataDir = mkdtempSync(join(tmpdir(), 'tf-modules-data-'));
    try {
      const env = { TAPFLEET_DATA_DIR: dataDir };
      const args = ['run', 'docs/examples/syscalls-by-comm.tap', '-c', '/usr/bin/python3.11 -c "import os\nfor i in range(50): os.getpid()"'];
      const cold = traced(mode, args, env);
      assert.equal(cold.code, 0, cold.stderr);
      assert.match(cold.stdout, /^@calls\[python3\.11\]: 50$/m);
      assert.deepEqual(matching(cold.modules, CLIENTS), []);
      assert.ok(matching(cold.modules, FRONT_END).length > 0, 'a cold run compiles (the trace sees the front end)');

      const cached = traced(mode, args, env);
      assert.equal(cached.code, 0, cached.stderr);
      assert.match(cached.stdout, /^@calls\[python3\.11\]: 50$/m);
      assert.deepEqual(matching(cached.modules, CLIENTS), []);
      assert.deepEqual(matching(cached.modules, FRONT_END), []);
      assert.deepEqual(matching(cached.modules, LOGGER), []);
      assert.deepEqual(matching(cached.modules, UNUSED_BUILTINS), []);
      // The runtime's start-up half only (@tapfleet/runtime/light): none of its clients' helpers, nor the schemas those parse.
      assert.deepEqual(matching(cached.modules, /services\/runtime\/dist\//).filter((m) => !/\/(light|paths|cli|terminal-text|config|client-modules|logger|long-timer)\.js$/.test(m)), []);
      // (The packages load the schemas' index, so every schema module: the bundle, what it reaches.)
      if (mode === 'bundle') assert.deepEqual(matching(cached.modules, /schemas\/dist\/(nats-names|api|deployment|agent)\.js$/), [], 'the bus\' subject names, the API\'s, deployments\' and agents\' schemas');
      // The trace sees Node's modules too: the ones a run uses.
      assert.ok(matching(cached.modules, /^node:child_process$/).length === 1, cached.modules.join('\n'));
      assert.deepEqual(matching(cached.modules, /services\/compiler\/dist\/(bundle\/clang|tapsets)\.js$/), []);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
