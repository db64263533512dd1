import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { connect, credsAuthenticator, headers, type NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod/v3';
import { ApiCallError } from '@tapfleet/control-plane';
import { agentPermissions, connectNats, createRedis, formatCreds, issueUserJwt, loadAccountSigner, newUserKeyPair, userKeyPairFromSeed } from '@tapfleet/runtime';
import { createAccount } from '@nats-io/nkeys';
import {
  agentInboxPrefix, ASSIGNMENTS_BUCKET, BUNDLES_OBJECT_STORE, CreateTokenResponse, DEAD_LETTER_REASON_HEADER, DEAD_LETTER_STREAM, deadLetterSubject, DeploymentView,
  EnrollResponse, eventsSubject, helloSubject, HostView, PROFILE_DIGEST_HEADER, PROFILE_KIND_HEADER, PROFILES_OBJECT_STORE, profileSubject,
  signAssignmentSet, statusSubject, UnknownDeployment,
} from '@tapfleet/schemas';
import { AgentProcess, agentStatuses, buildTraceeAt, eventually, FleetStack, fleetBinDir, sleep } from './fleet-harness.js';

const SCRIPT = 'probe uprobe:$tracee:tf_add { @calls = count(); }\n';

describe('trust: authenticated bus, per-host permissions, signed assignments', () => {
  const stack = new FleetStack(34000, 34010);
  const agents = new Map<string, AgentProcess>();
  const tracees: ChildProcess[] = [];
  let admin: NatsConnection;

  const deploy = (hostLabel: string) =>
    stack.api().call('POST', '/v1/deployments', DeploymentView, { scriptName: 'trust.tap', script: SCRIPT, selector: { host: hostLabel }, ttl: '5m', canary: false });
  const waitState = (id: string, host: string, state: string) =>
    eventually(`${host} to report ${state} for ${id}`, async () => (await stack.api().call('GET', `/v1/deployments/${id}`, DeploymentView)).hosts[host]?.state === state);
  const credsOf = (hostId: string) => readFileSync(join(stack.config.dataDir, 'agent', hostId, 'nats.creds'));
  /** A connection with exactly an agent's credentials, as a thief who copied them would have. */
  const connectAs = (hostId: string) =>
    connect({ servers: stack.config.nats.url, authenticator: credsAuthenticator(credsOf(hostId)), inboxPrefix: agentInboxPrefix(hostId), maxReconnectAttempts: 0 });
  const kvValue = async (hostId: string) => (await (await new Kvm(admin).open(ASSIGNMENTS_BUCKET)).get(hostId))!.value;
  const putRaw = async (hostId: string, value: Uint8Array | string) => (await new Kvm(admin).open(ASSIGNMENTS_BUCKET)).put(hostId, value);
  const refusedWith = (hostId: string, deploymentId: string, reason: RegExp) =>
    eventually(`${hostId} to refuse ${deploymentId} (${reason})`, async () => (await agentStatuses(stack.config, hostId, deploymentId)).find((s) => s.state === 'refused' && reason.test(s.reason ?? '')));
  const permissionDenied = async (what: string, f: () => Promise<unknown>) => {
    await assert.rejects(f, /permissions violation|permission/i, what);
  };

  before(async () => {
    await stack.up();
    await stack.startControlPlane();
    const bin = buildTraceeAt(join(fleetBinDir(), 'trust', 'tracee'));
    for (const [i, hostId] of ['host-a', 'host-b'].entries()) {
      const tracee = spawn(bin, ['loop', '2000'], { stdio: 'ignore' });
      tracees.push(tracee);
      const agent = new AgentProcess(stack, { hostId, labels: { host: hostId }, scopePid: tracee.pid!, binaries: { tracee: bin } }, 34011 + i);
      agents.set(hostId, agent);
    }
    await Promise.all([...agents.values()].map((a) => a.start()));
    admin = await connectNats(stack.config, { name: 'trust-test-admin' });
  });

  after(async () => {
    await admin?.close();
    for (const t of tracees) t.kill('SIGKILL');
    await stack.cleanup();
  });

  test('a client without credentials is refused by the server', async () => {
    await assert.rejects(connect({ servers: stack.config.nats.url, maxReconnectAttempts: 0, timeout: 3000 }), /authorization violation/i);
    // A well-formed JWT with every permission, signed by an account key the server does not trust.
    const thief = newUserKeyPair();
    const jwt = await issueUserJwt({ accountPublicKey: createAccount().getPublicKey(), signer: createAccount() }, 'thief', thief.getPublicKey(), { pub: { allow: ['>'] }, sub: { allow: ['>'] } });
    await assert.rejects(
      connect({ servers: stack.config.nats.url, maxReconnectAttempts: 0, timeout: 3000, authenticator: credsAuthenticator(formatCreds(jwt, thief)) }),
      /authorization violation/i,
    );
  });

  test("agent A's credentials publish only A's subjects and read only A's assignment", async () => {
    const nc = await connectAs('host-a');
    try {
      const js = jetstream(nc);
      const ack = await js.publish(eventsSubject('d-0000aaaa', 'host-a'), new Uint8Array(0));
      assert.ok(ack.seq > 0, 'its own host subject is allowed');
      for (const subject of [helloSubject('host-b'), statusSubject('host-b'), eventsSubject('d-0000aaaa', 'host-b'), 'tapfleet.events.d-0000aaaa.host-b', 'tapfleet.dlq.agent'])
        await permissionDenied(`publish ${subject}`, () => js.publish(subject, '{}'));
      const kv = await new Kvm(nc).open(ASSIGNMENTS_BUCKET);
      const own = await kv.watch({ key: 'host-a' }); // the server accepts the consumer filtered on its own key
      own.stop();
      await permissionDenied("watch B's key", () => kv.watch({ key: 'host-b' }));
      await permissionDenied("get B's key", () => kv.get('host-b'));
      await permissionDenied('write its own assignment', () => kv.put('host-a', '{}'));
      const bundles = await new Objm(nc).open(BUNDLES_OBJECT_STORE);
      await permissionDenied('write the bundle store', () => bundles.putBlob({ name: 'evil' }, new Uint8Array([1, 2, 3])));
      const profiles = await new Objm(nc).open(PROFILES_OBJECT_STORE);
      await permissionDenied('write the profile store', () => profiles.putBlob({ name: 'kernel-evil' }, new Uint8Array([1])));
      await permissionDenied('the JetStream API beyond reading', () => jetstreamManager(nc).then((m) => m.streams.delete(DEAD_LETTER_STREAM)));
    } finally {
      await nc.close().catch(() => undefined);
    }
    // Subscribing outside its own inbox prefix (other agents' replies and KV deliveries) is refused too.
    const nc2 = await connectAs('host-a');
    const sub = nc2.subscribe('_INBOX_AGENT.host-b.>');
    await assert.rejects((async () => {
      for await (const _ of sub) break;
    })(), /permissions violation/i);
    await nc2.close().catch(() => undefined);
  });

  test('a forged assignment (foreign key, unsigned, another host, garbage) is refused with its reason and nothing reaches the kernel', async () => {
    const real = await deploy('host-b');
    await waitState(real.id, 'host-b', 'running');
    const bundleId = real.targets[0]!.bundleId; // a genuinely signed bundle, re-used under a made-up deployment
    const a = agents.get('host-a')!;
    const runnersBefore = await a.metric('tapfleet_agent_runner_starts_total');
    const assignment = (deploymentId: string) => ({ deploymentId, bundleId, expiresAtMs: Date.now() + 60_000, pids: [] });
    const { privateKey: foreignKey } = generateKeyPairSync('ed25519');

    await putRaw('host-a', JSON.stringify(signAssignmentSet({ hostId: 'host-a', issuedAtMs: Date.now() + 1000, assignments: [assignment('d-0000f0e1')] }, foreignKey)));
    await refusedWith('host-a', 'd-0000f0e1', /signature does not verify/);
    await putRaw('host-a', JSON.stringify({ hostId: 'host-a', issuedAtMs: Date.now() + 2000, assignments: [assignment('d-0000f0e2')] }));
    await refusedWith('host-a', 'd-0000f0e2', /schema: signature/);
    // host-b's genuine, signed set copied into host-a's key: signed, but not for host-a.
    const bSet = JSON.parse(new TextDecoder().decode(await kvValue('host-b'))) as { assignments: { deploymentId: string }[] };
    await putRaw('host-a', await kvValue('host-b'));
    await refusedWith('host-a', bSet.assignments[0]!.deploymentId, /for host host-b, not this host/);
    await putRaw('host-a', 'not json at all {');
    await eventually('the garbage refused', async () => (await a.metric('tapfleet_agent_assignment_sets_refused_total')) >= 4);

    assert.equal(await a.metric('tapfleet_agent_runner_starts_total'), runnersBefore, 'no runner was started on host-a');
    assert.deepEqual(a.runnerPids(bundleId), [], 'no runner loads the bundle on host-a');
    assert.equal((await fetch(`http://127.0.0.1:${a.metricsPort}/healthz`)).status, 200, 'the agent survived every value');
    // The refused deployments are visible to the operator as unknown ones, with the reason.
    const unknown = await eventually('the refusals listed as unknown deployments', async () => {
      const list = await stack.api().call('GET', '/v1/deployments/unknown', z.array(UnknownDeployment));
      return list.some((u) => u.id === 'd-0000f0e1') && list.some((u) => u.id === 'd-0000f0e2') ? list : undefined;
    });
    assert.match(unknown.find((u) => u.id === 'd-0000f0e1')!.hosts['host-a']!.reason!, /signature/);
    // The control plane never re-signs what it did not write: the next deploy to host-a rebuilds its set and runs.
    const next = await deploy('host-a');
    await waitState(next.id, 'host-a', 'running');
    await stack.api().call('POST', `/v1/deployments/${next.id}/stop`, DeploymentView);
    await stack.api().call('POST', `/v1/deployments/${real.id}/stop`, DeploymentView);
    await waitState(real.id, 'host-b', 'stopped');
  });

  test('a replayed older assignment set (a stopped deployment) is refused; the deployment stays stopped', async () => {
    const d = await deploy('host-a');
    await waitState(d.id, 'host-a', 'running');
    const captured = await kvValue('host-a');
    await stack.api().call('POST', `/v1/deployments/${d.id}/stop`, DeploymentView);
    await waitState(d.id, 'host-a', 'stopped');
    const a = agents.get('host-a')!;
    const runners = await a.metric('tapfleet_agent_runner_starts_total');
    await putRaw('host-a', captured);
    await refusedWith('host-a', d.id, /older than the one already accepted.*replay/);
    await sleep(500);
    assert.equal(await a.metric('tapfleet_agent_runner_starts_total'), runners, 'the replay started nothing');
    assert.deepEqual(a.runnerPids(d.targets[0]!.bundleId), []);
    // The replayed set is still in the bucket: the next change the control plane makes must not re-sign it.
    const next = await deploy('host-a');
    await waitState(next.id, 'host-a', 'running');
    const set = JSON.parse(new TextDecoder().decode(await kvValue('host-a'))) as { assignments: { deploymentId: string }[] };
    assert.deepEqual(set.assignments.map((x) => x.deploymentId), [next.id], 'the stopped deployment was not laundered back in');
    assert.equal((await stack.api().call('GET', `/v1/deployments/${d.id}`, DeploymentView)).hosts['host-a']?.state, 'refused', 'its last word on it is the refused replay');
    await stack.api().call('POST', `/v1/deployments/${next.id}/stop`, DeploymentView);
    await waitState(next.id, 'host-a', 'stopped');
  });

  test('the control plane lists a running deployment it has no record of, and stop stops it', async () => {
    const d = await deploy('host-a');
    await waitState(d.id, 'host-a', 'running');
    // The control plane loses the record (a Redis without persistence restarted, say).
    const redis = createRedis(stack.config); // with the stack's password
    await redis.del(`tf:deployment:${d.id}`, `tf:deployment:${d.id}:hosts`);
    await redis.zrem('tf:deployments', d.id);
    redis.disconnect();
    const u = await eventually('the deployment listed as unknown, running', async () =>
      (await stack.api().call('GET', '/v1/deployments/unknown', z.array(UnknownDeployment))).find((x) => x.id === d.id && x.hosts['host-a']?.state === 'running'));
    assert.ok(u);
    const listed = stack.cli(['deployments']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`unknown to this control plane[\\s\\S]*${d.id}\\s+host-a\\s+running`));
    const stopped = stack.cli(['stop', d.id]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /unknown to this control plane; told host-a to stop it/);
    await eventually('host-a to detach it', () => agents.get('host-a')!.runnerPids(d.targets[0]!.bundleId).length === 0);
    await eventually('host-a to report it stopped', async () =>
      (await stack.api().call('GET', '/v1/deployments/unknown', z.array(UnknownDeployment))).find((x) => x.id === d.id)?.hosts['host-a']?.state === 'stopped');
  });

  test('enrollment: an agent token only enrolls; a host id stays with its first key unless an admin re-keys it', async () => {
    const join = await stack.api().call('POST', '/v1/tokens', CreateTokenResponse, { name: 'join', role: 'agent' });
    const asAgent = stack.api(join.token);
    await assert.rejects(asAgent.call('GET', '/v1/hosts', z.array(HostView)), (e: ApiCallError) => e.status === 403);
    const key1 = newUserKeyPair();
    const r = await asAgent.call('POST', '/v1/agents/enroll', EnrollResponse, { hostId: 'host-new', publicKey: key1.getPublicKey() });
    // The issued JWT works, for that host's subjects only.
    const nc = await connect({ servers: stack.config.nats.url, authenticator: credsAuthenticator(formatCreds(r.jwt, key1)), inboxPrefix: agentInboxPrefix('host-new'), maxReconnectAttempts: 0 });
    await jetstream(nc).publish(eventsSubject('d-0000bbbb', 'host-new'), new Uint8Array(0));
    await permissionDenied('publish as host-a', () => jetstream(nc).publish(eventsSubject('d-0000bbbb', 'host-a'), new Uint8Array(0)));
    await nc.close().catch(() => undefined);
    const again = await asAgent.call('POST', '/v1/agents/enroll', EnrollResponse, { hostId: 'host-new', publicKey: key1.getPublicKey() });
    assert.ok(again.jwt, 'the same key re-enrolls (a renewed JWT)');
    await assert.rejects(asAgent.call('POST', '/v1/agents/enroll', EnrollResponse, { hostId: 'host-a', publicKey: newUserKeyPair().getPublicKey() }),
      (e: ApiCallError) => e.status === 409 && /already enrolled with another key/.test(e.message));
    await assert.rejects(asAgent.call('POST', '/v1/agents/enroll', EnrollResponse, { hostId: 'host.a.>', publicKey: 'nope' }),
      (e: ApiCallError) => e.status === 400 && e.body!.error.issues!.map((i) => i.path).sort().join() === 'hostId,publicKey');
    await stack.api().call('POST', '/v1/agents/enroll', EnrollResponse, { hostId: 'host-new', publicKey: newUserKeyPair().getPublicKey() });
  });

  test('an agent without the trusted control-plane key stops at start with the fix, before it enrolls', async () => {
    const missing = join(stack.config.dataDir, 'nowhere', 'signing-key.pub');
    const child = stack.spawnTapfleet(['agent', '--host-id', 'host-keyless', '--metrics-port', '0', '--labels', 'x=y'], { agent: { trustedKeyFile: missing } }, 'agent-keyless');
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.notEqual(code, 0);
    assert.match(stderr, new RegExp(`no trusted control-plane key at ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: copy the control plane's`));
    assert.ok(!existsSync(join(stack.config.dataDir, 'agent', 'host-keyless', 'nats.creds')), 'it did not enroll');
  });

  test('what an agent sends on its own subjects is still checked: a profile with a wrong digest, a status naming another host', async () => {
    const nc = await connectAs('host-a');
    const js = jetstream(nc);
    try {
      const h = headers();
      h.set(PROFILE_KIND_HEADER, 'kernel');
      h.set(PROFILE_DIGEST_HEADER, 'ab'.repeat(32));
      await js.publish(profileSubject('host-a'), gzipSync('{"buildId":"forged"}'), { headers: h });
      const status = { hostId: 'host-b', bootId: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', agentVersion: 'x', sentAtMs: Date.now(), deploymentId: 'd-0000cccc', state: 'running', probes: [], runnerRestarts: 0 };
      await js.publish(statusSubject('host-a'), JSON.stringify(status));
    } finally {
      await nc.close();
    }
    const reasons = async () => {
      const consumer = await jetstream(admin).consumers.get(DEAD_LETTER_STREAM, { filter_subjects: deadLetterSubject('agent'), deliver_policy: DeliverPolicy.All });
      const out: string[] = [];
      for await (const m of await consumer.fetch({ max_messages: 100, expires: 1000 })) out.push(m.headers?.get(DEAD_LETTER_REASON_HEADER) ?? '');
      return out;
    };
    await eventually('the forged profile dead-lettered', async () => (await reasons()).some((x) => /does not match its digest/.test(x)));
    await eventually('the status naming host-b dead-lettered', async () => (await reasons()).some((x) => /host id in the body differs/.test(x)));
  });

  test('one host cannot flood the unknown-deployments list: a quota of distinct ids per host, the rest counted', async () => {
    const nc = await connectAs('host-b');
    const js = jetstream(nc);
    try {
      for (let i = 0; i < 24; i++) {
        const status = { hostId: 'host-b', bootId: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', agentVersion: 'x', sentAtMs: Date.now(), deploymentId: `d-flood${String(i).padStart(4, '0')}`, state: 'running', probes: [], runnerRestarts: 0 };
        await js.publish(statusSubject('host-b'), JSON.stringify(status));
      }
    } finally {
      await nc.close();
    }
    const refused = async () => Number(/tapfleet_control_plane_agent_reports_refused_total\{reason="[^"]*quota[^"]*"\} (\d+)/.exec(await (await fetch(`${stack.config.controlPlane.url}/metrics`)).text())?.[1] ?? 0);
    await eventually('the reports over the quota counted', async () => (await refused()) >= 24 - 16);
    const listed = (await stack.api().call('GET', '/v1/deployments/unknown', z.array(UnknownDeployment))).filter((u) => u.id.startsWith('d-flood'));
    assert.equal(listed.length, 16);
  });

  test('an agent renews its credentials at start: a JWT issued with older, narrower permissions does not break it', async () => {
    const b = agents.get('host-b')!;
    const credsFile = join(stack.config.dataDir, 'agent', 'host-b', 'nats.creds');
    const seed = /^(SU[A-Z2-7]{56})$/m.exec(readFileSync(credsFile, 'utf8'))![1]!;
    const kp = userKeyPairFromSeed(seed);
    // What an earlier release issued: the same key, without the direct reads bundles now use.
    const perms = agentPermissions('host-b');
    const older = { ...perms, pub: { allow: perms.pub.allow!.filter((x) => !x.startsWith('$JS.API.DIRECT.GET.')) } };
    writeFileSync(credsFile, formatCreds(await issueUserJwt(loadAccountSigner(stack.config)!, 'agent-host-b', kp.getPublicKey(), older), kp), { mode: 0o600 });
    await stack.stopChild(b.child);
    const again = new AgentProcess(stack, b.spec, b.metricsPort);
    await again.start();
    agents.set('host-b', again);
    const d = await deploy('host-b');
    await waitState(d.id, 'host-b', 'running');
    await stack.api().call('POST', `/v1/deployments/${d.id}/stop`, DeploymentView);
    await waitState(d.id, 'host-b', 'stopped');
  });
});
