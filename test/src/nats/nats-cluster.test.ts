import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createClickHouse, natsClusterNodes, type ClickHouseClient, type NatsNode } from '@tapfleet/runtime';
import { DeploymentView, EVENTS_STREAM, INGEST_CONSUMERS, LossReport } from '@tapfleet/schemas';
import { readPidFile, serviceDirs, stackStatus } from '@tapfleet/stack';
import { AgentProcess, buildTraceeAt, eventually, FleetStack, fleetBinDir, ingestCaughtUp, sleep } from '../fleet/fleet-harness.js';
import { storedCount } from '../ingest/ingest-harness.js';
import { allThreeCurrent, consumerLeader, killNode, metaCluster, nodeOf, rejoinedMeta, restartDeadNodes, streamReplicas } from './nats-cluster-harness.js';

/** Each call of tf_add carries its own counter (arg0): a stored value set with no gap and no repeat is the proof. */
const SCRIPT = 'probe uprobe:$tracee:tf_add { emit added { i: arg0 }; }\n';
const HOST = 'host-nats';
const AGENT_CONN = `tapfleet-agent-${HOST}`;
const INGEST_CONN = 'tapfleet-ingest';
const INGEST_METRICS = 48218;


describe('a 3-node NATS JetStream cluster: nodes killed -9 under a streaming agent and ingest lose and double nothing, and rejoin', () => {
  const stack = new FleetStack(48200, 48217, (c) => ({ ...c, nats: { ...c.nats, cluster: { nodes: 3, name: 'tapfleet', portBase: 48230 } } }));
  const db = stack.config.clickhouse.database;
  let ch: ClickHouseClient;
  let tracee: ChildProcess;
  let agent: AgentProcess;

  before(async () => {
    await stack.up(['nats', 'clickhouse', 'redis']);
    ch = createClickHouse(stack.config);
    await stack.startControlPlane();
    stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: INGEST_METRICS, fetchWaitMs: 200 } }, 'ingest');
    await eventually('ingest /healthz', async () => (await fetch(`http://127.0.0.1:${INGEST_METRICS}/healthz`)).ok, 30_000);
    const bin = buildTraceeAt(join(fleetBinDir(), 'nats-cluster', 'tracee'));
    tracee = spawn(bin, ['stamped', '1000'], { stdio: 'ignore' });
    agent = new AgentProcess(stack, { hostId: HOST, labels: { role: 'nats' }, scopePid: tracee.pid!, binaries: { tracee: bin } }, 48219);
    await agent.start();
  });

  after(async () => {
    tracee?.kill('SIGKILL');
    await ch?.close();
    await stack.cleanup();
  });

  test('stack up --cluster: three nodes, one meta group, every stream and store at R3 with current followers', async () => {
    const nodes = natsClusterNodes(stack.config);
    assert.deepEqual(nodes.map((n) => n.serverName), ['tapfleet-1', 'tapfleet-2', 'tapfleet-3']);
    for (const node of nodes) {
      const meta = await metaCluster(node);
      assert.equal(meta?.cluster_size, 3, `${node.serverName} sees a 3-node meta group`);
      assert.ok(meta?.leader, `${node.serverName} knows the meta leader`);
    }
    const rs = await eventually('every stream at R3, followers current', async () => {
      const r = await streamReplicas(stack.config);
      return allThreeCurrent(r) ? r : undefined;
    }, 30_000, 250);
    for (const r of rs) assert.deepEqual([r.leader, ...r.replicas.map((p) => p.name)].sort(), ['tapfleet-1', 'tapfleet-2', 'tapfleet-3'], `${r.stream} on all three nodes`);
    // `stack status` shows the three nodes, also when asked with a configuration that does not say "cluster" (as after `stack up --cluster`).
    const single = { ...stack.config, nats: { ...stack.config.nats, cluster: { ...stack.config.nats.cluster, nodes: 1 } } };
    for (const config of [stack.config, single]) {
      const nats = (await stackStatus(config)).filter((r) => r.name.startsWith('nats'));
      assert.deepEqual(nats.map((r) => [r.name, r.state]), [['nats-1', 'running'], ['nats-2', 'running'], ['nats-3', 'running']]);
    }
    // The route password is in 0600 files only, never on a command line.
    const password = readFileSync(join(stack.config.dataDir, 'stack-auth', 'nats-route.password'), 'utf8').trim();
    for (const node of nodes) {
      const dirs = serviceDirs(stack.config, node.service);
      assert.equal(statSync(join(dirs.root, 'nats-server.conf')).mode & 0o777, 0o600);
      assert.ok(!readFileSync(`/proc/${readPidFile(dirs.pidFile)!.pid}/cmdline`, 'utf8').includes(password));
    }
  });

  test('kill -9 of the agent\'s node, of ingest\'s node, of the ingest consumer\'s leader, mid-stream: clients fail over, every event in ClickHouse exactly once, the nodes rejoin', async () => {
    const d = await stack.api().call('POST', '/v1/deployments', DeploymentView, { scriptName: 'counter.tap', script: SCRIPT, selector: { role: 'nats' }, ttl: '5m', canary: false });
    const host = async () => (await stack.api().call('GET', `/v1/deployments/${d.id}`, DeploymentView)).hosts[HOST];
    await eventually(`${HOST} running`, async () => (await host())?.state === 'running', 30_000);
    const stored = async () => (await storedCount(ch, db, d.id, HOST)).distinct;

    /**
     * Kills a node once events are flowing (the one `connection` is on, or the leader of ingest's
     * events consumer), checks the client moved and events kept coming, restarts the node.
     */
    const killUnder = async (connection: string, victim: 'its node' | 'consumer leader' = 'its node'): Promise<NatsNode> => {
      const before = await eventually('events flowing into ClickHouse', async () => {
        const n = await stored();
        return n > 0 ? n : undefined;
      }, 60_000, 250);
      await eventually('more events after the last phase', async () => (await stored()) > before + 1000, 60_000, 250);
      const node = victim === 'its node'
        ? await eventually(`the node ${connection} is connected to`, () => nodeOf(stack.config, connection), 20_000, 250)
        : await eventually('the leader of ingest\'s events consumer', () => consumerLeader(stack.config, EVENTS_STREAM, INGEST_CONSUMERS.events.name), 20_000, 250);
      await killNode(stack.config, node);
      const atKill = await stored();
      const moved = await eventually(`${connection} connected to a live node`, () => nodeOf(stack.config, connection), 30_000, 250);
      assert.notEqual(moved.service, node.service);
      await eventually('events stored after the kill', async () => (await stored()) > atKill + 1000, 60_000, 250);
      await restartDeadNodes(stack.config);
      // The restarted node knows the meta leader, which reports it (and the other peer) current.
      await eventually(`${node.serverName} rejoined the meta group`, () => rejoinedMeta(stack.config, node), 60_000, 250);
      const rs = await eventually('every stream back to three current replicas', async () => {
        const r = await streamReplicas(stack.config);
        return allThreeCurrent(r) ? r : undefined;
      }, 60_000, 500);
      for (const r of rs) assert.ok([r.leader, ...r.replicas.map((p) => p.name)].includes(node.serverName), `${r.stream} has ${node.serverName} again`);
      return node;
    };

    const agentNode = await killUnder(AGENT_CONN);
    const ingestNode = await killUnder(INGEST_CONN);
    // The consumer leader holds what was delivered and not yet acked: its successor must not hand ingest a batch as new that was already stored.
    const consumerNode = await killUnder(INGEST_CONN, 'consumer leader');

    await stack.api().call('POST', `/v1/deployments/${d.id}/stop`, DeploymentView);
    await eventually(`${HOST} stopped`, async () => (await host())?.state === 'stopped', 30_000);
    await eventually('the agent to drain', async () => (await agent.metric('tapfleet_agent_spool_batches')) === 0 && (await agent.metric('tapfleet_agent_publish_in_flight')) === 0, 60_000);
    const report = await eventually('ingest caught up and the final status stored', async () => {
      if (!(await ingestCaughtUp(stack.config))) return undefined;
      const row = (await stack.api().call('GET', `/v1/deployments/${d.id}/loss`, LossReport)).rows.find((x) => x.host === HOST);
      return row?.state === 'stopped' && row.stored === row.published ? row : undefined;
    }, 120_000, 500);

    const count = await storedCount(ch, db, d.id, HOST);
    const [values] = await (await ch.query({ query: `SELECT count() AS rows, uniqExact(n0) AS distinct, min(n0) AS lo, max(n0) AS hi FROM ${db}.probe_events WHERE deployment = '${d.id}' AND host = '${HOST}'`, format: 'JSONEachRow' })).json<{ rows: string; distinct: string; lo: string; hi: string }>();
    const summary = JSON.stringify({ agentNode: agentNode.serverName, ingestNode: ingestNode.serverName, consumerNode: consumerNode.serverName, count, values, report: { ...report, outages: report.outages.map((o) => o.text) } });
    assert.ok(count.rows > 5000, `enough events to span both kills: ${summary}`);
    // Every batch the agent published once, stored once: no sequence missing, none twice.
    assert.deepEqual(count, { rows: count.distinct, distinct: count.distinct, minSeq: 0, maxSeq: count.distinct - 1 }, summary);
    // The same from the tracee's side: each counter value between the first and the last, once.
    assert.equal(Number(values!.rows), Number(values!.distinct), summary);
    assert.equal(Number(values!.hi) - Number(values!.lo) + 1, Number(values!.distinct), summary);
    assert.equal(report.published, count.rows, summary);
    assert.deepEqual({ dups: report.duplicates, gaps: report.sequenceGaps, drops: report.ringBufferDrops, spoolDrops: report.spoolDrops }, { dups: 0, gaps: 0, drops: 0, spoolDrops: 0 }, summary);
  });
});
