import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { jetstreamManager, jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, credsAuthenticator, headers, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { z } from 'zod/v3';
import { connectNats, createRedis, formatCreds, newUserKeyPair } from '@tapfleet/runtime';
import {
  agentInboxPrefix, aggsSubject, AggregationsView, ASSIGNMENTS_BUCKET, BUNDLES_OBJECT_STORE, CreateTokenResponse, DeploymentView, EnrollResponse, EVENTS_STREAM,
  HostView, PROFILE_DIGEST_HEADER, PROFILE_KIND_HEADER, PROFILES_OBJECT_STORE, profileSubject,
} from '@tapfleet/schemas';
import { AgentProcess, buildTraceeAt, eventually, FleetStack, fleetBinDir, sleep } from './fleet-harness.js';

/**
 * Holes an adversarial pass found in the trust model (docs/security.md); each test states what
 * the document promises and fails while the hole is open.
 */
const SCRIPT = 'probe uprobe:$tracee:tf_add { @calls = count(); }\n';
const OTHER_SCRIPT = 'probe uprobe:$tracee:tf_add { @other = count(); }\n';

describe('trust, adversarial: what stolen credentials and lost state must still not allow', () => {
  const stack = new FleetStack(36000, 36010);
  let agent: AgentProcess;
  let tracee: ChildProcess;
  let cp: ChildProcess;
  let admin: NatsConnection;

  const deploy = (script = SCRIPT) =>
    stack.api().call('POST', '/v1/deployments', DeploymentView, { scriptName: 'adv.tap', script, selector: { host: 'host-a' }, ttl: '10m', canary: false });
  const waitState = (id: string, state: string) =>
    eventually(`host-a to report ${state} for ${id}`, async () => (await stack.api().call('GET', `/v1/deployments/${id}`, DeploymentView)).hosts['host-a']?.state === state);
  const kv = async () => new Kvm(admin).open(ASSIGNMENTS_BUCKET);
  const setOf = async () => JSON.parse(new TextDecoder().decode((await (await kv()).get('host-a'))!.value)) as { assignments: { deploymentId: string }[] };

  /** Redis loses its data (a disk failure, a FLUSHALL); the control plane restarts; host-a says hello again. */
  const loseRedisData = async () => {
    const redis = createRedis(stack.config);
    await redis.flushall();
    redis.disconnect();
    await stack.stopChild(cp);
    cp = await stack.startControlPlane();
    await eventually('host-a back in the inventory (its next hello)', async () =>
      (await stack.api().call('GET', '/v1/hosts', z.array(HostView))).some((h) => h.hostId === 'host-a' && h.live), 60_000, 500);
  };

  before(async () => {
    await stack.up();
    cp = await stack.startControlPlane();
    const bin = buildTraceeAt(join(fleetBinDir(), 'trust-adv', 'tracee'));
    tracee = spawn(bin, ['loop', '2000'], { stdio: 'ignore' });
    agent = new AgentProcess(stack, { hostId: 'host-a', labels: { host: 'host-a' }, scopePid: tracee.pid!, binaries: { tracee: bin } }, 36011);
    await agent.start();
    admin = await connectNats(stack.config, { name: 'trust-adv-admin' });
  });

  after(async () => {
    await admin?.close();
    tracee?.kill('SIGKILL');
    await stack.cleanup();
  });

  test('Redis refuses a client without credentials (its records decide what runs, and hold the API tokens)', async () => {
    // Anyone on the control-plane host (uid nobody included) could otherwise write
    // tf:token:<sha256> with role admin and deploy probes to every host.
    const url = new URL(stack.config.redis.url);
    url.username = '';
    url.password = '';
    // No ready check: its INFO would be refused first and close the connection before the SET is tried.
    const anonymous = new Redis(url.toString(), { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, enableReadyCheck: false });
    try {
      await anonymous.connect().catch(() => undefined);
      await assert.rejects(anonymous.set('tf:token:' + 'ab'.repeat(32), '{"name":"evil","role":"admin","createdAtMs":1700000000000}'), /NOAUTH|WRONGPASS|auth/i);
    } finally {
      anonymous.disconnect();
    }
  });

  test('after Redis loses its data, an older genuine set put back on the bus is not re-signed (a stopped deployment stays stopped)', async () => {
    const stoppedOne = await deploy(OTHER_SCRIPT);
    await waitState(stoppedOne.id, 'running');
    const captured = (await (await kv()).get('host-a'))!.value; // what anyone with bus access can read or keep
    await stack.api().call('POST', `/v1/deployments/${stoppedOne.id}/stop`, DeploymentView);
    await waitState(stoppedOne.id, 'stopped');
    await eventually('its runner gone', () => agent.runnerPids(stoppedOne.targets[0]!.bundleId).length === 0);

    // Redis loses its data (a disk failure, a FLUSHALL); the control plane restarts and re-registers its admin token.
    await loseRedisData();

    // The thief with bus access puts the captured, genuinely signed older set back. The agent refuses it (a replay) ...
    await (await kv()).put('host-a', captured);
    await eventually('the replay refused by the agent', async () => (await agent.metric('tapfleet_agent_assignment_sets_refused_total')) >= 1);
    // ... but the next change the control plane makes to host-a must not re-sign its contents.
    const next = await deploy();
    await waitState(next.id, 'running');
    assert.deepEqual((await setOf()).assignments.map((a) => a.deploymentId), [next.id], 'the stopped deployment was laundered back into a freshly signed set');
    await sleep(1000);
    assert.deepEqual(agent.runnerPids(stoppedOne.targets[0]!.bundleId), [], 'the stopped deployment runs again on host-a');
    await stack.api().call('POST', `/v1/deployments/${next.id}/stop`, DeploymentView);
    await waitState(next.id, 'stopped');
  });

  test('after Redis loses its data, a join token still cannot re-key a host that is enrolled and running', async () => {
    await loseRedisData();
    const join = await stack.api().call('POST', '/v1/tokens', CreateTokenResponse, { name: 'adv-join-takeover', role: 'agent' });
    await assert.rejects(
      stack.api(join.token).call('POST', '/v1/agents/enroll', EnrollResponse, { hostId: 'host-a', publicKey: newUserKeyPair().getPublicKey() }),
      (e: Error & { status?: number }) => e.status === 409,
      'a copied join token took over host-a (its subjects, its assignment key) because the first-key record lived only in Redis',
    );
  });

  test("a host's aggregation snapshot for a deployment that does not target it is not merged", async () => {
    const d = await deploy();
    await waitState(d.id, 'running');
    const join = await stack.api().call('POST', '/v1/tokens', CreateTokenResponse, { name: 'adv-join', role: 'agent' });
    const key = newUserKeyPair();
    const enrolled = await stack.api(join.token).call('POST', '/v1/agents/enroll', EnrollResponse, { hostId: 'host-x', publicKey: key.getPublicKey() });
    const nc = await connect({ servers: stack.config.nats.url, authenticator: credsAuthenticator(formatCreds(enrolled.jwt, key)), inboxPrefix: agentInboxPrefix('host-x'), maxReconnectAttempts: 0 });
    nc.publish(aggsSubject(d.id, 'host-x'), JSON.stringify({
      hostId: 'host-x', bootId: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', agentVersion: 'x', sentAtMs: Date.now(), deploymentId: d.id,
      bundleId: d.targets[0]!.bundleId, maps: [{ name: '@calls', entries: [{ key: [], value: '999999999' }] }],
    }));
    await nc.flush();
    await nc.close();
    await eventually('host-a reporting aggregations', async () => (await stack.api().call('GET', `/v1/deployments/${d.id}/aggs`, AggregationsView)).hosts.includes('host-a'));
    await sleep(1000);
    const view = await stack.api().call('GET', `/v1/deployments/${d.id}/aggs`, AggregationsView);
    assert.deepEqual(view.hosts, ['host-a'], 'a host outside the deployment contributed to its fleet aggregate');
    await stack.api().call('POST', `/v1/deployments/${d.id}/stop`, DeploymentView);
    await waitState(d.id, 'stopped');
  });

  test('a digest-correct profile padded to 60 MB (60 KB on the wire) does not grow the profile store by 60 MB', async () => {
    const info = () => jetstreamManager(admin).then((m) => m.streams.info(`OBJ_${PROFILES_OBJECT_STORE}`));
    const before = (await info()).state.bytes;
    const text = JSON.stringify({ path: '/usr/bin/padded', buildId: 'ab'.repeat(20), symbols: [], usdt: [], pad: 'A'.repeat(60 << 20) });
    const h = headers();
    h.set(PROFILE_KIND_HEADER, 'binary');
    h.set(PROFILE_DIGEST_HEADER, createHash('sha256').update(text).digest('hex'));
    const nc = await connect({ servers: stack.config.nats.url, authenticator: credsAuthenticator(readFileSync(join(stack.config.dataDir, 'agent', 'host-a', 'nats.creds'))), inboxPrefix: agentInboxPrefix('host-a'), maxReconnectAttempts: 0 });
    const body = gzipSync(text, { level: 9 });
    assert.ok(body.length < 128 << 10, 'the attack costs under 128 KB of bus traffic');
    await jetstream(nc).publish(profileSubject('host-a'), body, { headers: h });
    await nc.close();
    // The control plane consumes the agent stream in order: a hello sent after it proves it was handled.
    await eventually('the control plane to have handled the profile', async () => {
      const c = await jetstreamManager(admin).then((m) => m.consumers.info('TAPFLEET_AGENT', 'control-plane'));
      return c.num_pending === 0 && c.num_ack_pending === 0;
    }, 60_000, 250);
    const grown = (await info()).state.bytes - before;
    assert.ok(grown < 16 << 20, `the profile store grew by ${grown} bytes from one 60 KB message`);
  });

  test('a deleted assignment key (anyone with bus access) is rebuilt from the records on the next write, not taken as "nothing assigned"', async () => {
    const first = await deploy();
    await waitState(first.id, 'running');
    await (await kv()).delete('host-a'); // honoured by the agent: it stops first
    await waitState(first.id, 'stopped');
    const second = await deploy(OTHER_SCRIPT);
    await waitState(second.id, 'running');
    const ids = (await setOf()).assignments.map((a) => a.deploymentId).sort();
    assert.deepEqual(ids, [first.id, second.id].sort(), 'a live deployment whose record says it runs on host-a was silently dropped');
    for (const d of [first, second]) await stack.api().call('POST', `/v1/deployments/${d.id}/stop`, DeploymentView);
    await waitState(second.id, 'stopped');
  });

  test("ingest credentials cannot delete or drain the control plane's consumer", async () => {
    const ingest = await connectNats(stack.config, { name: 'trust-adv-ingest-consumer', identity: 'ingest' });
    try {
      await assert.rejects(jetstreamManager(ingest).then((m) => m.consumers.delete('TAPFLEET_AGENT', 'control-plane')), /permission/i,
        'one request with ingest credentials blinds the control plane (hosts go "gone", statuses stop)');
    } finally {
      await ingest.close();
    }
  });

  test("the control plane notices when its agent-stream consumer is deleted, and recreates it (or stops being healthy)", async () => {
    const heartbeats = async () => {
      const text = await (await fetch(`${stack.config.controlPlane.url}/metrics`)).text();
      return Number(/tapfleet_control_plane_agent_messages_total\{kind="heartbeat"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    await eventually('heartbeats counted', async () => (await heartbeats()) > 0);
    // (Already gone if the previous test's hole is open.)
    await jetstreamManager(admin).then((m) => m.consumers.delete('TAPFLEET_AGENT', 'control-plane')).catch(() => undefined);
    const after = await heartbeats();
    await eventually('heartbeats processed again, or /healthz failing', async () =>
      (await heartbeats()) > after || !(await fetch(`${stack.config.controlPlane.url}/healthz`)).ok, 60_000, 500);
  });

  test("an agent's credentials cannot create consumers without bound on the stores (each durable one costs the server memory and disk)", async () => {
    const nc = await connect({ servers: stack.config.nats.url, authenticator: credsAuthenticator(readFileSync(join(stack.config.dataDir, 'agent', 'host-a', 'nats.creds'))), inboxPrefix: agentInboxPrefix('host-a'), maxReconnectAttempts: 0 });
    const stream = `OBJ_${BUNDLES_OBJECT_STORE}`;
    const tries = 1000;
    let created = 0;
    try {
      for (let i = 0; i < tries; i += 100) {
        const batch = Array.from({ length: 100 }, (_, j) => `adv-durable-${i + j}`).map(async (name) => {
          const r = await nc.request(`$JS.API.CONSUMER.CREATE.${stream}.${name}`, JSON.stringify({ stream_name: stream, config: { name, durable_name: name, ack_policy: 'explicit' } }), { timeout: 10_000 }).catch(() => undefined);
          if (r && !(JSON.parse(r.string()) as { error?: unknown }).error) created++;
        });
        await Promise.all(batch);
      }
    } finally {
      await nc.close();
      const jsm = await jetstreamManager(admin);
      for (let i = 0; i < tries; i++) await jsm.consumers.delete(stream, `adv-durable-${i}`).catch(() => undefined);
    }
    assert.ok(created < tries, `one agent credential created ${created} durable consumers on ${stream}`);
  });

  // Last: while the hole is open it seals the assignments bucket, which nothing can undo.
  test('ingest credentials cannot reconfigure, shrink or seal a stream (which deletes or freezes data as surely as DELETE/PURGE)', async () => {
    const ingest = await connectNats(stack.config, { name: 'trust-adv-ingest', identity: 'ingest' });
    const jsm = await jetstreamManager(ingest);
    const allowed: string[] = [];
    const tryUpdate = async (stream: string, change: Record<string, unknown>) => {
      try {
        await jsm.streams.update(stream, change);
        allowed.push(`${stream} ${JSON.stringify(change)}`);
      } catch (e) {
        assert.match((e as Error).message, /permission/i, `${stream}: refused for the wrong reason`);
      }
    };
    await tryUpdate(EVENTS_STREAM, { max_msgs: 1 });
    await tryUpdate(`OBJ_${BUNDLES_OBJECT_STORE}`, { max_msgs: 1 });
    await tryUpdate(`KV_${ASSIGNMENTS_BUCKET}`, { sealed: true });
    await ingest.close();
    assert.deepEqual(allowed, [], 'ingest changed stream configurations');
  });
});
