import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClickHouse, createRedis, PROJECT_ROOT, type ClickHouseClient } from '@tapfleet/runtime';
import { AggregationSnapshot, AggregationsView, DeploymentView } from '@tapfleet/schemas';
import { AgentProcess, eventually, FleetStack, fleetBinDir } from './fleet-harness.js';

/**
 * Two agents, each scoped to its own copy of one CPU-bound program, profile it with ustack keys
 * and ustack/kstack event fields. Each agent symbolises before publishing, so the control plane
 * merges the same stack from both hosts into one key, ingest stores an event's stack as text,
 * and no host address leaves a host.
 */
const stack = new FleetStack(39200, 39210);
const spinners: ChildProcess[] = [];
const HOSTS = ['spin-a', 'spin-b'];
const HOT = /^tf_inner_spin\+\d+\ntf_middle\+\d+\ntf_outer\+\d+\nmain\+\d+\n/;

// Made once the stack is up: the factory reads the password stack up creates.
let ch: ClickHouseClient | undefined;

before(async () => {
  await stack.up(['nats', 'clickhouse', 'redis']);
  ch = createClickHouse(stack.config);
  await stack.startControlPlane();
  stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: 39220, fetchWaitMs: 200 } }, 'ingest');
  await eventually('ingest /healthz', async () => (await fetch('http://127.0.0.1:39220/healthz')).ok, 30_000);
  const bin = join(fleetBinDir(), 'stacks', 'stack-spin');
  execFileSync('mkdir', ['-p', join(bin, '..')]);
  execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', '-Wl,--build-id', '-o', bin, join(PROJECT_ROOT, 'test', 'fixtures', 'stack-spin.c')]);
  const agents = HOSTS.map((hostId, i) => {
    const spinner = spawn(bin, ['user', '120'], { stdio: 'ignore' });
    spinners.push(spinner);
    return new AgentProcess(stack, { hostId, labels: { role: 'spin' }, scopePid: spinner.pid! }, 39211 + i);
  });
  await Promise.all(agents.map((a) => a.start()));
});

after(async () => {
  spinners.forEach((s) => s.kill('SIGKILL'));
  await ch?.close();
  await stack.cleanup();
});

/** Deploys the script file to both spinning hosts through the CLI; returns the deployment id. */
function deployToSpinners(script: string): string {
  const deployed = stack.cli(['deploy', script, '--select', 'role=spin', '--ttl', '5m']);
  assert.equal(deployed.code, 0, deployed.stderr);
  const id = /deployment (d-[0-9a-f]+)/.exec(deployed.stdout)?.[1];
  assert.ok(id, deployed.stdout);
  return id;
}

const q = async <T>(query: string) => (await ch!.query({ query, format: 'JSONEachRow' })).json<T>();

test('fleet profile: agents publish symbolised ustack keys; aggs merges the same stack from two hosts into one key; --folded prints it root first', async () => {
  const script = join(stack.config.dataDir, 'profile.tap');
  writeFileSync(script, 'probe profile:hz:99 { @u[ustack] = count(); }\n');
  const id = deployToSpinners(script);
  const api = stack.api();
  try {
    // Both hosts' snapshots hold the busy chain.
    await eventually('the busy stack from both hosts', async () => {
      const v = await api.call('GET', `/v1/deployments/${id}/aggs`, AggregationsView);
      return v.hosts.length === 2 && v.maps[0]!.entries.some((e) => HOT.test(e.key[0]!) && BigInt(e.value) > 20n);
    }, 30_000);
  } finally {
    await api.call('POST', `/v1/deployments/${id}/stop`, DeploymentView);
  }
  // Stopped: every host's last snapshot is in; the merged view must now be their sum, key by key.
  await eventually('both hosts stopped', async () => {
    const v = await api.call('GET', `/v1/deployments/${id}`, DeploymentView);
    return HOSTS.every((h) => v.hosts[h]?.state === 'stopped');
  });
  const view = await api.call('GET', `/v1/deployments/${id}/aggs`, AggregationsView);
  const redis = createRedis(stack.config);
  let perHost: AggregationSnapshot[];
  try {
    await redis.connect();
    perHost = Object.values(await redis.hgetall(`tf:deployment:${id}:aggs`)).map((j) => AggregationSnapshot.parse(JSON.parse(j)));
  } finally {
    redis.disconnect();
  }
  const u = view.maps.find((m) => m.name === '@u')!;
  assert.deepEqual(u.stackKeys, [{ index: 0, user: true }]);
  const hot = u.entries.filter((e) => HOT.test(e.key[0]!));
  assert.ok(hot.length > 0);
  const keys = new Set(u.entries.map((e) => e.key[0]));
  assert.equal(keys.size, u.entries.length, 'one entry per stack in the merged view');
  for (const e of hot) {
    const sum = perHost.reduce((n, s) => n + BigInt(s.maps[0]!.entries.find((x) => x.key[0] === e.key[0])?.value ?? '0'), 0n);
    assert.equal(BigInt(e.value), sum, `merged count of\n${e.key[0]}\nis the sum of the hosts'`);
  }
  const both = hot.filter((e) => perHost.every((s) => s.maps[0]!.entries.some((x) => x.key[0] === e.key[0])));
  assert.ok(both.length > 0, 'a busy stack symbolised identically on both hosts (ASLR placed their code apart)');
  // Host addresses stay on the host: the program's own frames are all names.
  for (const s of perHost) for (const e of s.maps[0]!.entries) assert.ok(!/^0x[0-9a-f]+\n(tf_|main)/m.test(e.key[0]!) , `unsymbolised frame of the program in ${JSON.stringify(e.key[0])}`);

  const folded = stack.cli(['aggs', id, '--folded']);
  assert.equal(folded.code, 0, folded.stderr);
  const lines = folded.stdout.trim().split('\n');
  const busy = lines.find((l) => /;main;tf_outer;tf_middle;tf_inner_spin \d+$/.test(l));
  assert.ok(busy, folded.stdout);
  const text = stack.cli(['aggs', id]);
  assert.match(text.stdout, /@u\[\n {4}tf_inner_spin\+\d+\n {4}tf_middle\+\d+\n {4}tf_outer\+\d+\n {4}main\+\d+\n/);
});

test('fleet events: a ustack/kstack event field arrives in ClickHouse as its symbolised frames, one a line, leaf first', async () => {
  const script = join(stack.config.dataDir, 'stack-events.tap');
  // The spinners run in user mode: a sample's kernel stack is empty (EFAULT), as bpftrace prints it.
  writeFileSync(script, 'probe profile:hz:49 { emit sample { u: ustack(8), k: kstack(4) } }\n');
  const id = deployToSpinners(script);
  const db = stack.config.clickhouse.database;
  const api = stack.api();
  try {
    await eventually('busy samples from both hosts in ClickHouse', async () => {
      const rows = await q<{ host: string; n: string }>(`SELECT host, count() AS n FROM ${db}.probe_events WHERE deployment = '${id}' AND event = 'sample' GROUP BY host`);
      return rows.length === 2 && rows.every((r) => Number(r.n) >= 20);
    }, 60_000, 500);
  } finally {
    await api.call('POST', `/v1/deployments/${id}/stop`, DeploymentView);
  }
  // The published layout, as ingest recorded it: each stack a string slot.
  const [layout] = await q<{ fields: string }>(`SELECT fields FROM ${db}.event_layouts WHERE event = 'sample' AND bundle IN (SELECT DISTINCT bundle FROM ${db}.probe_events WHERE deployment = '${id}') LIMIT 1`);
  const fields = JSON.parse(layout!.fields) as { name: string; type: string; slot: string; size: number; stack?: string }[];
  assert.deepEqual(fields.map((f) => [f.name, f.type, f.slot, f.size, f.stack]), [['u', 'str', 's0', 512, 'ustack'], ['k', 'str', 's1', 256, 'kstack']]);
  const rows = await q<{ host: string; u: string; k: string }>(`SELECT host, s0 AS u, s1 AS k FROM ${db}.probe_events WHERE deployment = '${id}' AND event = 'sample'`);
  for (const host of HOSTS) {
    const mine = rows.filter((r) => r.host === host);
    assert.ok(mine.some((r) => HOT.test(`${r.u}\n`)), `${host}: the busy chain in ${JSON.stringify(mine.slice(0, 3))}`);
    // Host addresses stay on the host: the program's own frames are all names.
    for (const r of mine) assert.ok(!/^0x[0-9a-f]+\n(tf_|main)/m.test(r.u), `unsymbolised frame of the program in ${JSON.stringify(r.u)}`);
  }
  // The same stack from two hosts whose code ASLR placed apart is the same text.
  const busy = (h: string) => new Set(rows.filter((r) => r.host === h && HOT.test(`${r.u}\n`)).map((r) => r.u));
  assert.ok([...busy(HOSTS[0]!)].some((u) => busy(HOSTS[1]!).has(u)), 'one busy stack stored identically from both hosts');
  // Samples land in user mode (an empty kernel stack, as bpftrace prints it); any that land in the kernel are names too.
  assert.ok(rows.some((r) => r.k === ''), 'user-mode samples have an empty kernel stack');
  for (const r of rows) assert.ok(r.k === '' || r.k.split('\n').every((f) => /^[\w.]+\+\d+$/.test(f)), `kernel frames as names: ${JSON.stringify(r.k)}`);
});

test('fleet ksym()/usym()/strftime(): a printf() argument arrives as the name or the time, a key is the name merged across hosts; no address leaves a host', async () => {
  const script = join(stack.config.dataDir, 'symbols.tap');
  writeFileSync(script, 'probe profile:hz:49 { printf("%s %s %s\\n", usym(reg("ip")), ksym(reg("ip")), strftime("%Y-%m-%d %H:%M:%S", nsecs)); @s[usym(reg("ip"))] = count(); }\n');
  const started = Date.now();
  const id = deployToSpinners(script);
  const db = stack.config.clickhouse.database;
  const api = stack.api();
  try {
    await eventually('busy samples from both hosts in ClickHouse and in the merged map', async () => {
      const rows = await q<{ host: string; n: string }>(`SELECT host, count() AS n FROM ${db}.probe_events WHERE deployment = '${id}' AND event = 'printf_0' AND s0 = 'tf_inner_spin' GROUP BY host`);
      const v = await api.call('GET', `/v1/deployments/${id}/aggs`, AggregationsView);
      return rows.length === 2 && v.hosts.length === 2 && v.maps[0]!.entries.some((e) => e.key[0] === 'tf_inner_spin');
    }, 60_000, 500);
  } finally {
    await api.call('POST', `/v1/deployments/${id}/stop`, DeploymentView);
  }
  const [layout] = await q<{ fields: string }>(`SELECT fields FROM ${db}.event_layouts WHERE event = 'printf_0' AND bundle IN (SELECT DISTINCT bundle FROM ${db}.probe_events WHERE deployment = '${id}') LIMIT 1`);
  const fields = JSON.parse(layout!.fields) as { name: string; type: string; slot: string; size: number }[];
  assert.deepEqual(fields.map((f) => [f.name, f.type, f.slot, f.size]), [['arg0', 'str', 's0', 256], ['arg1', 'str', 's1', 256], ['arg2', 'str', 's2', 128]]);
  const rows = await q<{ u: string; k: string; t: string }>(`SELECT s0 AS u, s1 AS k, s2 AS t FROM ${db}.probe_events WHERE deployment = '${id}' AND event = 'printf_0'`);
  // strftime(nsecs): the host's local wall time when the sample was taken, as text.
  const ended = Date.now();
  for (const r of rows) {
    const [y, mo, d, h, mi, sec] = r.t.split(/[- :]/).map(Number) as [number, number, number, number, number, number];
    const at = new Date(y, mo - 1, d, h, mi, sec).getTime();
    assert.ok(at >= Math.floor(started / 1000) * 1000 && at <= ended, `${r.t} is not between the deployment and its end`);
  }
  // A sample in user mode: its ip is a user address, which ksym() prints as hex (bpftrace does too).
  assert.ok(rows.some((r) => r.u === 'tf_inner_spin' && /^0x[0-9a-f]+$/.test(r.k)), JSON.stringify(rows.slice(0, 5)));
  assert.ok(rows.every((r) => /^(0x[0-9a-f]+|[\w.@]+)$/.test(r.u) && /^(0x[0-9a-f]+|[\w.]+)$/.test(r.k)), JSON.stringify(rows.slice(0, 5)));
  const view = await api.call('GET', `/v1/deployments/${id}/aggs`, AggregationsView);
  const names = view.maps[0]!.entries.map((e) => e.key[0]);
  assert.equal(new Set(names).size, names.length, 'one entry per name in the merged view');
  assert.ok(names.includes('tf_inner_spin'), names.join(' '));
});
