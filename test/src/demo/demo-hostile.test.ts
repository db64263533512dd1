import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { DEMO_STAGES, isOwnedAlive, readPidFile, serviceDirs } from '@tapfleet/stack';
import { isolatedStackConfig } from '../stack-harness.js';
import { eventually } from '../fleet/fleet-harness.js';

const BASE = 43500;
const TAPFLEET = join(PROJECT_ROOT, 'bin', 'tapfleet.js');
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'demo-hostile');
const MAIN_JOB = ['nats', 'clickhouse', 'redis', 'jaeger', 'control-plane', 'ingest', 'assembler', 'query', 'agent', ...DEMO_STAGES.map((s) => `demo-${s}`), ...DEMO_STAGES.map((s) => `demo-agent-${s}`)];

function demoConfig(): TapfleetConfig {
  const c = isolatedStackConfig(BASE);
  return { ...c, logLevel: 'info', demo: { ...c.demo, gatewayPort: BASE + 20, riskPort: BASE + 21, matcherPort: BASE + 22, agentMetricsPort: BASE + 23 } };
}

/** `tapfleet demo` as a user runs it (no TAPFLEET_* of the test run's own stack), its output kept. */
class DemoProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  /** `onStdout` sees the output so far on every chunk: it can act on a line the moment it is written. */
  constructor(configFile: string, readonly label: string, onStdout?: (stdout: string, child: ChildProcess) => void) {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAPFLEET_')));
    this.child = spawn(process.execPath, [TAPFLEET, 'demo', '--no-install', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      onStdout?.(this.stdout, this.child);
    });
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-20_000); });
    this.exited = new Promise((r) => this.child.on('exit', (code) => {
      writeFileSync(join(ARTIFACTS, `${label}.out`), `${this.stdout}\n--- stderr ---\n${this.stderr}`);
      r(code);
    }));
  }

  /** The exit code, failing (not hanging) if it has not exited within `timeoutMs`. */
  async exitWithin(timeoutMs: number): Promise<number | null> {
    await eventually(`${this.label} to exit`, () => this.child.exitCode !== null || this.child.signalCode !== null || undefined, timeoutMs, 200)
      .catch((e: Error) => { throw new Error(`${e.message}; its output:\n${this.stdout}`); });
    return this.exited;
  }

  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return eventually(`${this.label} output matching ${pattern}`, () => {
      const m = pattern.exec(this.stdout);
      if (m) return m;
      if (this.child.exitCode !== null) throw new Error(`${this.label} exited ${this.child.exitCode}:\n${this.stdout}`);
      return undefined;
    }, timeoutMs, 200);
  }
}

describe('tapfleet demo under hostile conditions: Ctrl-C during start-up, a second start, kill -9 of the demo, a stage killed', () => {
  const config = demoConfig();
  const configFile = join(config.dataDir, 'demo.json');
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(configFile, JSON.stringify(config));
  const started: DemoProcess[] = [];
  const pidOf = (name: string) => readPidFile(serviceDirs(config, name).pidFile);
  let first: DemoProcess;
  let third: DemoProcess;

  test('Ctrl-C while the servers start: nothing more starts, what started is stopped, it says so at once', async () => {
    const early = new DemoProcess(configFile, 'early');
    started.push(early);
    // The first server up (NATS or Redis, in a second or so) while ClickHouse is still starting.
    const first = await early.waitFor(/^(nats|redis|jaeger|clickhouse)\s+started\s+\S+\s+pid (\d+)/m, 120_000);
    early.child.kill('SIGINT');
    assert.equal(await early.exitWithin(180_000), 130);
    assert.match(early.stderr, /SIGINT: stopping; nothing more starts/);
    assert.doesNotMatch(early.stdout, /^(control-plane|ingest|assembler|query|agent|demo-\S+)\s+started/m, 'no service after the servers started');
    assert.doesNotMatch(early.stdout, /services up after/);
    assert.match(early.stdout, new RegExp(`^ {2}${first[1]} stopped \\(pid ${first[2]}\\)$`, 'm'));
    assert.match(early.stdout, /^ {2}nats stopped \(pid \d+\)\nstopped\.\n$/m, 'the servers of the first group, started or starting, are stopped');
    for (const n of MAIN_JOB) assert.equal(isOwnedAlive(pidOf(n)), false, `${n} not running`);
  });

  test('Ctrl-C while tapfleet\'s own services start: they are not waited for, nothing after them starts, all of it is stopped', async () => {
    const servers = ['nats', 'redis', 'clickhouse', 'jaeger'];
    let signalled = false;
    // SIGINT the moment the last server is reported, within the same chunk of output: the product
    // services are then being spawned or waited for, not yet healthy (they take a second).
    const mid = new DemoProcess(configFile, 'mid', (out, child) => {
      if (signalled || !servers.every((n) => new RegExp(`^${n}\\s+started`, 'm').test(out))) return;
      signalled = true;
      child.kill('SIGINT');
    });
    started.push(mid);
    assert.equal(await mid.exitWithin(180_000), 130);
    assert.equal(signalled, true);
    assert.match(mid.stderr, /SIGINT: stopping; nothing more starts/);
    assert.doesNotMatch(mid.stdout, /^(control-plane|ingest|assembler|query|agent|demo-\S+)\s+started/m, 'no product service reported up after the Ctrl-C');
    assert.doesNotMatch(mid.stdout, /services up after/);
    assert.match(mid.stdout, /^ {2}nats stopped \(pid \d+\)\nstopped\.\n$/m);
    for (const n of MAIN_JOB) assert.equal(isOwnedAlive(pidOf(n)), false, `${n} not running`);
  });

  after(() => {
    for (const d of started) if (d.child.exitCode === null) d.child.kill('SIGKILL');
    spawnSync(process.execPath, [TAPFLEET, 'stack', 'down', '--config', configFile], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 120_000 });
    // The services' logs, kept for a failure's post-mortem.
    for (const n of MAIN_JOB) if (existsSync(serviceDirs(config, n).logFile)) cpSync(serviceDirs(config, n).logFile, join(ARTIFACTS, `${n}.log`));
    rmSync(config.dataDir, { recursive: true, force: true });
  });

  test('a second demo on the same data dir refuses and leaves the first one tracing', async () => {
    first = new DemoProcess(configFile, 'first');
    started.push(first);
    await first.waitFor(/first orders traced end to end/, 300_000);
    const client = readPidFile(join(config.dataDir, 'stack', 'demo-client', 'demo-client.pid'));
    assert.ok(isOwnedAlive(client), "the first demo's order client runs");

    const second = new DemoProcess(configFile, 'second');
    started.push(second);
    assert.equal(await second.exitWithin(120_000), 1);
    assert.match(second.stdout, new RegExp(`tapfleet demo is already running here \\(pid ${first.child.pid},`));
    assert.match(second.stdout, /Nothing was started\./);
    assert.doesNotMatch(second.stdout, /stopped the order client|stopped the demo deployment/);
    assert.ok(isOwnedAlive(client), "the first demo's order client still runs");
    assert.equal(first.child.exitCode, null, 'the first demo still runs');
  });

  test('after kill -9 of the demo the next one takes over what it left and stops the killed one\'s client and deployment', async () => {
    const before = Object.fromEntries(MAIN_JOB.map((n) => [n, pidOf(n)?.pid]));
    first.child.kill('SIGKILL');
    await first.exited;

    third = new DemoProcess(configFile, 'third');
    started.push(third);
    await third.waitFor(/first orders traced end to end/, 300_000);
    const adopted = /taking over what an earlier tapfleet demo \(no longer running\) left running, to stop it at the end: (.*)/.exec(third.stdout);
    assert.ok(adopted, third.stdout);
    assert.deepEqual(adopted[1]!.split(', ').sort(), [...MAIN_JOB].sort());
    for (const n of MAIN_JOB) assert.match(third.stdout, new RegExp(`^${n}\\s+running\\s+127\\.0\\.0\\.1:\\d+\\s+pid ${before[n]}\\s`, 'm'), `${n} reused, not restarted`);
    assert.match(third.stdout, /stopped the order client an earlier run left running \(pid \d+\)/);
    assert.match(third.stdout, /stopped the demo deployment d-[0-9a-f]+ an earlier run left running/);
  });

  test('a stage killed while the demo runs: the demo names it and stops everything, the adopted services too', async () => {
    const risk = pidOf('demo-risk');
    assert.ok(isOwnedAlive(risk));
    const pids = MAIN_JOB.map((n) => pidOf(n)).filter((r) => r !== undefined);
    assert.equal(pids.length, MAIN_JOB.length);
    process.kill(risk.pid, 'SIGKILL');
    assert.equal(await third.exitWithin(180_000), 1, third.stdout);
    assert.match(third.stdout, new RegExp(`demo-risk \\(pid ${risk.pid}\\) exited while the demo ran; the last line of \\S+demo-risk\\.log: tf-demo-risk: `));
    assert.match(third.stdout, /the demo cannot go on without it: stopping everything/);
    assert.match(third.stdout, new RegExp(`demo-risk had already exited \\(pid ${risk.pid}\\)`));
    assert.match(third.stdout, /nats stopped \(pid \d+\)\nstopped\.\n$/);
    assert.doesNotMatch(third.stdout, /left running \(started before this run\)/);
    for (const rec of pids) assert.equal(isOwnedAlive(rec), false, `${rec.command} stopped`);
    assert.equal(existsSync(join(config.dataDir, 'stack', 'demo', 'demo-run.json')), false, 'the run record is removed at the end');
  });
});
