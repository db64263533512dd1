import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { allCommands } from '@tapfleet/cli';
import { PROJECT_ROOT } from '@tapfleet/runtime';

/** Runs the real `tapfleet` entry point with the test command's environment. */
function tapfleet(...args: string[]) {
  const r = spawnSync(process.execPath, [`${PROJECT_ROOT}/bin/tapfleet.js`, ...args], { encoding: 'utf8', env: process.env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The registry `tapfleet --help` is made from: every table of every package, as the CLI composes them. */
const registry = await allCommands();
/** Commands that must be there whatever else is: a registry that lost a table fails here, not vacuously below. */
const CORE = ['setup', 'stack up', 'stack down', 'stack status', 'check', 'compile', 'profile', 'run', 'deploy', 'agent', 'ingest'];

test('--help lists every command and exits 0', () => {
  const r = tapfleet('--help');
  assert.equal(r.code, 0);
  const paths = registry.map((c) => c.path.join(' '));
  for (const cmd of CORE) assert.ok(paths.includes(cmd), `${cmd} is in the command registry`);
  for (const cmd of paths) assert.match(r.stdout, new RegExp(`^  ${cmd} `, 'm'));
});

test('every command has --help', () => {
  for (const { path, args, summary } of registry) {
    const r = tapfleet(...path, '--help');
    assert.equal(r.code, 0, `${path.join(' ')} --help`);
    // The command's own help (not a group's list): its usage line and its summary.
    const usage = `usage: tapfleet ${[...path, ...(args ? [args] : [])].join(' ')} [options]`;
    assert.ok(r.stdout.split('\n').includes(usage), `${path.join(' ')} --help prints '${usage}'`);
    assert.ok(r.stdout.includes(summary), `${path.join(' ')} --help shows its summary`);
  }
});

test('an unknown command or option is a usage error (exit 2) that says what was wrong', () => {
  const unknown = tapfleet('stak', 'up');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'stak up'/);
  const badOption = tapfleet('stack', 'status', '--bogus');
  assert.equal(badOption.code, 2);
  assert.match(badOption.stderr, /Unknown option '--bogus'/);
});

test('a bad config value stops the command with the field named', () => {
  const r = spawnSync(process.execPath, [`${PROJECT_ROOT}/bin/tapfleet.js`, 'stack', 'status'], {
    encoding: 'utf8',
    env: { ...process.env, TAPFLEET_NATS_URL: 'http://wrong' },
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /nats\.url: expected nats:\/\/HOST:PORT/);
});

test('stack status reports the stack the test command started as healthy', () => {
  const r = tapfleet('stack', 'status');
  assert.equal(r.code, 0, r.stderr);
  for (const svc of ['nats', 'clickhouse', 'redis']) assert.match(r.stdout, new RegExp(`^${svc}\\s+running\\s+127\\.0\\.0\\.1:`, 'm'));
});
