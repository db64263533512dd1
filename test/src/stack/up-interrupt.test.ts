/**
 * Ctrl-C during `tapfleet stack up`: it says so at once, starts nothing more, stops what it had
 * started (the servers up and the ones still starting) and exits 130, instead of dying with
 * them left running and unreported.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { isOwnedAlive, readPidFile, serviceDirs } from '@tapfleet/stack';
import { isolatedStackConfig } from '../stack-harness.js';
import { eventually } from '../fleet/fleet-harness.js';

const TAPFLEET = join(PROJECT_ROOT, 'bin', 'tapfleet.js');
const config = isolatedStackConfig(36500);
const configFile = join(config.dataDir, 'stack.json');
writeFileSync(configFile, JSON.stringify(config));
const SERVERS = ['nats', 'clickhouse', 'redis', 'jaeger'];
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAPFLEET_')));

after(() => {
  spawnSync(process.execPath, [TAPFLEET, 'stack', 'down', '--config', configFile], { env, timeout: 120_000 });
  rmSync(config.dataDir, { recursive: true, force: true });
});

test('Ctrl-C during stack up: nothing more starts, what it started is stopped, exit 130', async () => {
  const child = spawn(process.execPath, [TAPFLEET, 'stack', 'up', '--no-install', '--with', 'jaeger', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  // The moment NATS is spawned (its pid file written), before the servers are all healthy.
  await eventually('nats spawned', () => isOwnedAlive(readPidFile(serviceDirs(config, 'nats').pidFile)) || undefined, 60_000, 20);
  child.kill('SIGINT');
  assert.equal(await exited, 130, `stdout:\n${stdout}\nstderr:\n${stderr}`);
  assert.match(stderr, /SIGINT: stopping; nothing more starts, and what this started is stopped/);
  assert.match(stdout, /^nats\s+stopped pid \d+$/m);
  assert.match(stdout, /^stopped\.$/m);
  assert.doesNotMatch(stdout, /^service\s+state/m, 'no table of services up');
  for (const n of SERVERS) assert.equal(isOwnedAlive(readPidFile(serviceDirs(config, n).pidFile)), false, `${n} not running`);
});
