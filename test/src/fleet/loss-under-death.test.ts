import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createClickHouse, type ClickHouseClient } from '@tapfleet/runtime';
import { DeploymentView, LossReport } from '@tapfleet/schemas';
import { readPidFile, serviceDirs } from '@tapfleet/stack';
import { AgentProcess, buildTraceeAt, eventually, FleetStack, fleetBinDir, ingestCaughtUp, sleep } from './fleet-harness.js';

/** Each call of tf_add carries its own counter (arg0); the tracee logs when it made each call. */
const SCRIPT = 'probe uprobe:$tracee:tf_add { emit added { i: arg0 }; }\n';

/** Every durable consumer of the event and agent streams (ingest's) has nothing pending or unacked (nak'ed batches come back later). */

interface Status { at_ms: string; state: string; produced_by_kernel: string; ring_buffer_drops: string; received: string; malformed: string; published: string; spooled: string }
const COUNTERS = ['produced_by_kernel', 'ring_buffer_drops', 'received', 'malformed', 'published', 'spooled'] as const;

describe('loss accounting under runner and agent death (kill -9 mid-stream, real kernel, NATS, ClickHouse)', () => {
  const stack = new FleetStack(35000, 35010);
  const db = stack.config.clickhouse.database;
  // Made once the stack is up: the factory reads the password stack up creates.
  let ch: ClickHouseClient;
  /** Counter value -> [before, after] CLOCK_REALTIME ns of the call that emitted it. */
  const emitted = new Map<number, [bigint, bigint]>();
  let tracee: ChildProcess;
  let agent: AgentProcess;

  before(async () => {
    await stack.up(['nats', 'clickhouse', 'redis']);
    ch = createClickHouse(stack.config);
    await stack.startControlPlane();
    stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: 35020, fetchWaitMs: 200 } }, 'ingest');
    await eventually('ingest /healthz', async () => (await fetch('http://127.0.0.1:35020/healthz')).ok, 30_000);
    const bin = buildTraceeAt(join(fleetBinDir(), 'loss', 'tracee'));
    tracee = spawn(bin, ['stamped', '1000'], { stdio: ['ignore', 'pipe', 'ignore'] });
    createInterface({ input: tracee.stdout! }).on('line', (l) => {
      const [i, b, a] = l.split(' ');
      emitted.set(Number(i), [BigInt(b!), BigInt(a!)]);
    });
    // Two publishes in flight at most: while NATS is stalled, batches wait in the agent's memory.
    agent = new AgentProcess(stack, { hostId: 'host-loss', labels: { role: 'loss' }, scopePid: tracee.pid!, binaries: { tracee: bin }, agent: { batch: { maxInFlight: 2 } } }, 35011);
    await agent.start();
  });

  after(async () => {
    tracee?.kill('SIGKILL');
    await ch?.close();
    await stack.cleanup();
  });

  test('every missing counter value lies inside a reported outage, and the counters keep their invariants and never decrease', async (t) => {
    const d = await stack.api().call('POST', '/v1/deployments', DeploymentView, { scriptName: 'counter.tap', script: SCRIPT, selector: { role: 'loss' }, ttl: '5m', canary: false });
    const host = async () => (await stack.api().call('GET', `/v1/deployments/${d.id}`, DeploymentView)).hosts['host-loss'];
    const runningSince = (ms: number, restarts: number) => eventually(`host-loss running (restarts ${restarts}) after ${ms}`, async () => {
      const h = await host();
      return h?.state === 'running' && h.runnerRestarts === restarts && h.updatedAtMs >= ms ? h : undefined;
    }, 30_000);
    await runningSince(0, 0);
    const bundleId = d.targets[0]!.bundleId;
    await sleep(1500);

    // 1. The runner alone, SIGKILL: the agent restarts it.
    const [runnerPid] = agent.runnerPids(bundleId);
    assert.ok(runnerPid, 'a runner to kill');
    process.kill(runnerPid, 'SIGKILL');
    await runningSince(0, 1);
    await sleep(1500);

    // 2. The agent and its runner, SIGKILL, mid-stream, with batches unacknowledged: nats-server
    // is stalled (SIGSTOP) for a second first, so batches pile up in the agent's memory and
    // die with it (sequence gaps the agent outage must explain). Then a new agent process on
    // the same state dir.
    const nats = readPidFile(serviceDirs(stack.config, 'nats').pidFile)!.pid;
    const runners = agent.runnerPids(bundleId);
    process.kill(nats, 'SIGSTOP');
    let killedAt: number;
    try {
      await sleep(1000);
      killedAt = Date.now();
      await stack.stopChild(agent.child, 'SIGKILL');
      for (const pid of runners) try { process.kill(pid, 'SIGKILL'); } catch { /* already gone with its agent */ }
    } finally {
      process.kill(nats, 'SIGCONT');
    }
    await sleep(1000);
    await agent.start();
    await runningSince(killedAt, 0);
    await sleep(1500);

    await stack.api().call('POST', `/v1/deployments/${d.id}/stop`, DeploymentView);
    await eventually('host-loss stopped', async () => (await host())?.state === 'stopped');
    await eventually('the agent to drain', async () => (await agent.metric('tapfleet_agent_spool_batches')) === 0 && (await agent.metric('tapfleet_agent_publish_in_flight')) === 0);

    // Ingest has written everything once its consumers have nothing pending and the final status is in.
    const q = async <T>(query: string) => (await ch.query({ query, format: 'JSONEachRow' })).json<T>();
    const report = await eventually('the final status and every event in ClickHouse', async () => {
      if (!(await ingestCaughtUp(stack.config))) return undefined;
      const row = (await stack.api().call('GET', `/v1/deployments/${d.id}/loss`, LossReport)).rows.find((x) => x.host === 'host-loss');
      return row?.state === 'stopped' ? row : undefined;
    }, 60_000, 500);

    const values = (await q<{ i: string }>(`SELECT DISTINCT n0 AS i FROM ${db}.probe_events WHERE deployment = '${d.id}'`)).map((r) => Number(r.i));
    const stored = new Set(values);
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    const windows = report.outages.filter((o) => o.toMs !== undefined).map((o) => ({ ...o, fromNs: BigInt(o.fromMs) * 1_000_000n, toNs: BigInt(o.toMs!) * 1_000_000n }));
    const missing: number[] = [];
    const outside: string[] = [];
    for (let i = lo; i <= hi; i++) {
      if (stored.has(i)) continue;
      missing.push(i);
      const at = emitted.get(i);
      if (!at) outside.push(`${i}: not in the tracee's log`);
      else if (!windows.some((w) => at[0] <= w.toNs && at[1] >= w.fromNs)) outside.push(`${i}: emitted ${new Date(Number(at[0] / 1_000_000n)).toISOString()}`);
    }
    const summary = JSON.stringify({ stored: stored.size, lo, hi, missing: missing.length, outages: report.outages.map((o) => o.text), row: { ...report, outages: undefined } });
    // How many, the first and the last: enough to see where the accounting went wrong.
    assert.deepEqual(outside.length ? [outside.length, ...outside.slice(0, 3), ...outside.slice(-3)] : [], [], `missing counter values outside every reported outage: ${summary}`);
    assert.ok(missing.length > 0, `the kills lost events (else the test proves nothing): ${summary}`);

    // Both deaths are reasons in the report, with the cause and how they ended.
    assert.ok(report.outages.some((o) => o.kind === 'runner' && o.cause === 'SIGKILL' && o.resolution === 'restarted'), summary);
    assert.ok(report.outages.some((o) => o.kind === 'agent' && o.cause === 'agent died' && o.resolution === 'restarted'), summary);
    assert.ok(report.sequenceGaps > 0 && report.publishedUnacked > 0, `batches died unsent with the agent: ${summary}`);
    assert.equal(report.gapsInOutages, report.sequenceGaps, `every sequence gap inside an outage: ${summary}`);
    assert.equal(report.gapsUnexplained, 0, summary);
    const cli = stack.cli(['loss', d.id]);
    assert.equal(cli.code, 0, cli.stderr);
    t.diagnostic(`tapfleet loss ${d.id}\n${cli.stdout}`);
    assert.match(cli.stdout, /runner down \d\d:\d\d:\d\d\.\d{3}-\d\d:\d\d:\d\d\.\d{3} \(SIGKILL, restarted\)/);
    assert.match(cli.stdout, /agent down \d\d:\d\d:\d\d\.\d{3}-\d\d:\d\d:\d\d\.\d{3} \(agent died, restarted\)/);

    // The invariants, on the final figures.
    const r = report;
    assert.ok(r.received <= r.producedByKernel - r.ringBufferDrops, `received <= produced - drops: ${JSON.stringify(r)}`);
    assert.ok(r.published <= r.received - r.malformed, `published <= received - malformed: ${JSON.stringify(r)}`);
    assert.ok(r.stored <= r.published, `stored <= published: ${JSON.stringify(r)}`);
    assert.equal(r.stored, stored.size, 'one stored event per counter value');

    // Counters never decrease across the runner restart and the agent restart, report after report.
    const statuses = await q<Status>(`SELECT at_ms, state, ${COUNTERS.join(', ')} FROM ${db}.agent_status WHERE deployment = '${d.id}' AND host = 'host-loss' ORDER BY at_ms`);
    const total = (s: Status) => COUNTERS.reduce((a, c) => a + Number(s[c]), 0);
    statuses.sort((a, b) => Number(a.at_ms) - Number(b.at_ms) || total(a) - total(b));
    assert.ok(statuses.length > 10, `statuses: ${statuses.length}`);
    for (let k = 1; k < statuses.length; k++)
      for (const c of COUNTERS) assert.ok(Number(statuses[k]![c]) >= Number(statuses[k - 1]![c]), `${c} went from ${statuses[k - 1]![c]} to ${statuses[k]![c]} at ${statuses[k]!.at_ms}`);
  });
});
