import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { z } from 'zod/v3';
import { ApiCallError } from '@tapfleet/control-plane';
import { compileBundle, loadOrCreateSigningKey } from '@tapfleet/compiler';
import { connectNats, PROJECT_ROOT } from '@tapfleet/runtime';
import { hostKernelProfile, readBinaryProfile } from '@tapfleet/runner';
import {
  AggregationsView, ASSIGNMENTS_BUCKET, AssignmentSet, BUNDLES_OBJECT_STORE, CreateTokenResponse, DeploymentView, HostView, serializeBundle, signAssignmentSet,
  type Bundle, type CreateDeploymentRequest,
} from '@tapfleet/schemas';
import { AgentProcess, agentStatuses, buildTraceeAt, eventually, FleetStack, fleetBinDir, gapFreeOnce, sleep, storedEvents } from './fleet-harness.js';

const UPROBE_SCRIPT = 'probe uprobe:$tracee:tf_add { @calls = count(); @arg = hist(arg0); emit added { a: arg0, b: arg1 }; }\n';

describe('fleet: control plane and three agents on real NATS, Redis and the kernel', () => {
  const stack = new FleetStack(25000, 25010);
  const tracees = new Map<string, ChildProcess>();
  const agents = new Map<string, AgentProcess>();
  let controlPlane: ChildProcess;

  const deploy = async (selector: Record<string, string>, extra: Partial<CreateDeploymentRequest> = {}, script = UPROBE_SCRIPT) =>
    stack.api().call('POST', '/v1/deployments', DeploymentView, { scriptName: 'fleet.tap', script, selector, ttl: '5m', canary: false, ...extra }).then((d) => {
      // A failed assertion must not leave probes attached for the next test.
      cleanups.push(() => stack.api().call('POST', `/v1/deployments/${d.id}/stop`, DeploymentView).catch(() => undefined));
      return d;
    });
  const view = (id: string) => stack.api().call('GET', `/v1/deployments/${id}`, DeploymentView);
  const hostState = async (id: string, host: string) => (await view(id)).hosts[host];
  const waitState = (id: string, host: string, state: string, ms = 20_000) =>
    eventually(`${host} to report ${state} for ${id}`, async () => {
      const s = await hostState(id, host);
      return s?.state === state ? s : undefined;
    }, ms);
  const cleanups: (() => Promise<unknown>)[] = [];
  const stopDeployment = async (id: string, hosts: string[]) => {
    await stack.api().call('POST', `/v1/deployments/${id}/stop`, DeploymentView);
    for (const h of hosts) await waitState(id, h, 'stopped');
  };
  /** Waits until the agent holds nothing unpublished. */
  const drained = (a: AgentProcess) => eventually(`agent ${a.spec.hostId} to drain`, async () => (await a.metric('tapfleet_agent_spool_batches')) === 0 && (await a.metric('tapfleet_agent_publish_in_flight')) === 0);

  before(async () => {
    await stack.up();
    controlPlane = await stack.startControlPlane();
    const specs = [
      { hostId: 'host-a', labels: { role: 'trader', zone: 'a' }, port: 25011 },
      { hostId: 'host-b', labels: { role: 'trader', zone: 'b' }, port: 25012 },
      // host-c: a tight events budget, so its governor can be made to trip at a gentle rate.
      { hostId: 'host-c', labels: { role: 'risk', zone: 'c' }, port: 25013, agent: { governor: { maxEventsPerSec: 100, windows: 2 } } },
    ];
    // host-a and host-b run the same binary at the same path (one bundle serves both);
    // host-c has its own copy, which a refusal test replaces with another build.
    const shared = buildTraceeAt(join(fleetBinDir(), 'shared', 'tracee'));
    for (const s of specs) {
      const bin = s.hostId === 'host-c' ? buildTraceeAt(join(fleetBinDir(), 'host-c', 'tracee')) : shared;
      const tracee = spawn(bin, ['loop', '2000'], { stdio: 'ignore' });
      tracees.set(s.hostId, tracee);
      const agent = new AgentProcess(stack, { hostId: s.hostId, labels: s.labels, scopePid: tracee.pid!, binaries: { tracee: bin }, ...(s.agent ? { agent: s.agent } : {}) }, s.port);
      agents.set(s.hostId, agent);
    }
    await Promise.all([...agents.values()].map((a) => a.start()));
  });

  afterEach(async () => {
    if (controlPlane.exitCode === null) for (const c of cleanups.splice(0)) await c();
  });

  after(async () => {
    for (const t of tracees.values()) t.kill('SIGKILL');
    await stack.cleanup();
  });

  test('hosts: three live agents with their labels, kernel build and binary', async () => {
    const hosts = await stack.api().call('GET', '/v1/hosts', z.array(HostView));
    assert.deepEqual(hosts.map((h) => h.hostId), ['host-a', 'host-b', 'host-c']);
    const own = hostKernelProfile().buildId;
    for (const h of hosts) {
      assert.equal(h.live, true);
      assert.equal(h.kernel.buildId, own);
      assert.equal(h.binaries[0]!.name, 'tracee');
      assert.equal(h.binaries[0]!.buildId, readBinaryProfile(join(fleetBinDir(), h.hostId === 'host-c' ? 'host-c' : 'shared', 'tracee')).buildId);
    }
    assert.deepEqual(hosts.find((h) => h.hostId === 'host-c')!.labels, { role: 'risk', zone: 'c' });
    const clock = await eventually('a clock estimate in the inventory', async () => (await stack.api().call('GET', '/v1/hosts', z.array(HostView))).find((h) => h.clock)?.clock);
    assert.ok(clock.uncertaintyNs > 0 && clock.uncertaintyNs < 50_000_000, `uncertainty ${clock.uncertaintyNs} ns is RTT/2 of a loopback exchange`);
  });

  test('a deployment selected by label reaches exactly the matching agents; events arrive per host, gap-free', async () => {
    const d = await deploy({ role: 'trader' });
    assert.deepEqual(d.targets.map((t) => t.hostId).sort(), ['host-a', 'host-b']);
    assert.equal(Object.keys(d.bundles).length, 1, 'one kernel build, one binary build: one compile');
    await waitState(d.id, 'host-a', 'running');
    await waitState(d.id, 'host-b', 'running');
    assert.equal(await agents.get('host-c')!.metric('tapfleet_agent_runner_starts_total'), 0, 'host-c was not selected and loaded nothing');
    await sleep(1500);
    const aggs = await eventually('merged aggregations from both hosts', async () => {
      const v = await stack.api().call('GET', `/v1/deployments/${d.id}/aggs`, AggregationsView);
      return v.hosts.length === 2 ? v : undefined;
    });
    const calls = aggs.maps.find((m) => m.name === '@calls')!;
    assert.ok(BigInt(calls.entries[0]!.value) > 100n, `fleet-wide @calls = ${calls.entries[0]!.value}`);
    const hist = aggs.maps.find((m) => m.name === '@arg')!;
    assert.equal(hist.kind, 'hist');
    assert.equal(hist.entries[0]!.buckets!.reduce((a, b) => a + BigInt(b), 0n), BigInt(hist.entries[0]!.value), 'one histogram: buckets add up across hosts');
    await stopDeployment(d.id, ['host-a', 'host-b']);
    await drained(agents.get('host-a')!);
    await drained(agents.get('host-b')!);
    const stored = await storedEvents(stack.config, d.id);
    assert.deepEqual([...stored.seqs.keys()].sort(), ['host-a', 'host-b']);
    for (const host of ['host-a', 'host-b']) {
      const check = gapFreeOnce(stored.seqs.get(host)!);
      assert.ok(check.ok && check.count > 100, `${host}: ${JSON.stringify(check)}`);
      assert.deepEqual([...stored.pids.get(host)!], [tracees.get(host)!.pid], `${host} traced only its own process`);
    }
  });

  test('the compile cache answers a repeated deployment; --canary goes one host per build first', async () => {
    const d = await deploy({ role: 'trader' }, { canary: true });
    assert.equal(d.compiles.cached, 1);
    assert.equal(d.targets.filter((t) => t.canary).length, 1);
    assert.equal(d.phase, 'canary');
    await waitState(d.id, 'host-a', 'running');
    await waitState(d.id, 'host-b', 'running');
    assert.equal((await view(d.id)).phase, 'done');
    await stopDeployment(d.id, ['host-a', 'host-b']);
  });

  describe('refusals: nothing reaches the kernel', () => {
    const assign = async (hostId: string, bundle: Bundle, deploymentId: string) => {
      const nc = await connectNats(stack.config, { name: 'fleet-test-injector' });
      try {
        const store = await new Objm(nc).open(BUNDLES_OBJECT_STORE);
        await store.putBlob({ name: bundle.manifest.bundleId }, new TextEncoder().encode(serializeBundle(bundle)));
        const kv = await new Kvm(nc).open(ASSIGNMENTS_BUCKET);
        const entry = await kv.get(hostId);
        const current = entry?.operation === 'PUT' ? AssignmentSet.parse(entry.json()).assignments : [];
        // Signed with the control plane's own key: these tests are about the bundle checks behind the assignment check.
        const set = signAssignmentSet({ hostId, issuedAtMs: Date.now(), assignments: [...current, { deploymentId, bundleId: bundle.manifest.bundleId, expiresAtMs: Date.now() + 60_000, pids: [] }] }, controlPlaneKey());
        await kv.put(hostId, JSON.stringify(set));
      } finally {
        await nc.close();
      }
    };
    const refusal = (hostId: string, deploymentId: string) =>
      eventually(`${hostId} to refuse ${deploymentId}`, async () => (await agentStatuses(stack.config, hostId, deploymentId)).find((s) => s.state === 'refused'));
    const controlPlaneKey = () => loadOrCreateSigningKey(join(stack.config.dataDir, 'control-plane', 'signing-key.pem')).privateKey;

    test('a bundle compiled for another kernel build is refused with that reason', async () => {
      const profile = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'profile-6.18-x86_64.json'), 'utf8'));
      const kernel = { ...profile.kernel, buildId: 'ff'.repeat(20) };
      const bundle = await compileBundle('other-kernel.tap', 'probe tracepoint:syscalls:sys_enter_getpid { @n = count(); }\n', { signingKey: controlPlaneKey(), profiles: { kernel, binaries: [] } });
      await assign('host-c', bundle, 'd-0000kernel');
      const s = await refusal('host-c', 'd-0000kernel');
      assert.match(s.reason!, /kernel build-id mismatch: bundle was compiled for ff{38}/);
      assert.equal(await agents.get('host-c')!.metric('tapfleet_agent_runner_starts_total'), 0);
    });

    test('a tampered bundle is refused', async () => {
      const bundle = await compileBundle('tampered.tap', '# tampered\nprobe tracepoint:syscalls:sys_enter_getpid { @n = count(); }\n', { signingKey: controlPlaneKey(), profiles: { kernel: hostKernelProfile(['syscalls:sys_enter_getpid']), binaries: [] } });
      const object = Buffer.from(bundle.object);
      object[object.length - 1]! ^= 0xff;
      await assign('host-c', { ...bundle, object }, 'd-00tampered');
      const s = await refusal('host-c', 'd-00tampered');
      assert.match(s.reason!, /BPF object does not match the manifest digest/);
      assert.equal(await agents.get('host-c')!.metric('tapfleet_agent_runner_starts_total'), 0);
    });

    test('a bundle signed by another key is refused', async () => {
      const { generateKeyPairSync } = await import('node:crypto');
      const bundle = await compileBundle('foreign.tap', '# foreign\nprobe tracepoint:syscalls:sys_enter_getpid { @n = count(); }\n', { signingKey: generateKeyPairSync('ed25519').privateKey, profiles: { kernel: hostKernelProfile(['syscalls:sys_enter_getpid']), binaries: [] } });
      await assign('host-c', bundle, 'd-00foreign0');
      const s = await refusal('host-c', 'd-00foreign0');
      assert.match(s.reason!, /signature does not verify/);
    });

    test('a probed binary replaced by another build is refused, through the control plane', async () => {
      const path = join(fleetBinDir(), 'host-c', 'tracee');
      const reported = readBinaryProfile(path).buildId;
      buildTraceeAt(`${path}.new`, 'rebuilt');
      const { renameSync } = await import('node:fs');
      renameSync(`${path}.new`, path); // the running tracee keeps the old inode; the file is another build
      assert.notEqual(readBinaryProfile(path).buildId, reported);
      const d = await deploy({ role: 'risk' });
      const s = await waitState(d.id, 'host-c', 'refused');
      assert.match(s.reason!, /binary build-id mismatch: .*tracee is [0-9a-f]+ here, the bundle was compiled for [0-9a-f]+/);
      assert.equal(await agents.get('host-c')!.metric('tapfleet_agent_runner_starts_total'), 0);
      await stack.api().call('POST', `/v1/deployments/${d.id}/stop`, DeploymentView);
    });
  });

  test('the overload governor detaches a bundle over its budget and reports the figures', async () => {
    const d = await deploy({ role: 'risk' }, {}, 'probe tracepoint:syscalls:sys_enter_getpid { emit call { n: 1 }; }\n');
    const s = await waitState(d.id, 'host-c', 'overloaded');
    assert.match(s.reason!, /over budget: probe CPU [0-9.]+% of one core \(budget 5%\), [0-9]+ events\/s \(budget 100\)/);
    assert.ok(s.load && s.load.eventsPerSec > 100, JSON.stringify(s.load));
    await eventually('host-c runner to exit', () => agents.get('host-c')!.runnerPids().length === 0);
  });

  test('NATS stopped for seconds mid-stream: every sequence arrives exactly once (spool + de-duplication)', async () => {
    const a = agents.get('host-a')!;
    const d = await deploy({ zone: 'a' });
    await waitState(d.id, 'host-a', 'running');
    await sleep(1000);
    await stack.down(['nats']);
    await eventually('host-a to spool', async () => (await a.metric('tapfleet_agent_spool_batches')) > 0, 10_000);
    await sleep(4000);
    await stack.up(['nats']);
    await eventually('the control plane to answer after NATS returns', async () => (await view(d.id)).hosts['host-a']!.updatedAtMs > Date.now() - 2000, 30_000);
    await stopDeployment(d.id, ['host-a']);
    await drained(a);
    const stored = await storedEvents(stack.config, d.id);
    const check = gapFreeOnce(stored.seqs.get('host-a')!);
    assert.ok(check.ok, JSON.stringify(check));
    const metrics = await a.metrics();
    const stage = (name: string) => Number(new RegExp(`tapfleet_agent_deployment_events\\{deployment="${d.id}",stage="${name}"\\} (\\d+)`).exec(metrics)?.[1]);
    assert.ok(stage('spooled') > 0, 'batches went through the spool');
    assert.equal(stage('spoolDrops'), 0);
    assert.equal(check.count, stage('received') - stage('malformed'), 'everything received is stored, once');
  });

  test('an agent restarted resumes its assignment and continues the sequence', async () => {
    const b = agents.get('host-b')!;
    const d = await deploy({ zone: 'b' });
    await waitState(d.id, 'host-b', 'running');
    await sleep(800);
    await stack.stopChild(b.child);
    await b.start();
    await waitState(d.id, 'host-b', 'running');
    await sleep(800);
    await stopDeployment(d.id, ['host-b']);
    await drained(b);
    const check = gapFreeOnce((await storedEvents(stack.config, d.id)).seqs.get('host-b')!);
    assert.ok(check.ok && check.count > 0, JSON.stringify(check));
  });

  test('a killed runner is restarted with backoff and the restart is reported', async () => {
    const a = agents.get('host-a')!;
    const d = await deploy({ zone: 'a' });
    await waitState(d.id, 'host-a', 'running');
    const bundleId = d.targets[0]!.bundleId;
    const [pid] = a.runnerPids(bundleId);
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    const s = await eventually('host-a running again after a restart', async () => {
      const st = await hostState(d.id, 'host-a');
      return st?.state === 'running' && st.runnerRestarts === 1 ? st : undefined;
    });
    assert.equal(s.runnerRestarts, 1);
    assert.notEqual(a.runnerPids(bundleId)[0], pid);
    await stopDeployment(d.id, ['host-a']);
  });

  test('API: 401 without or with an unknown token, 403 for a too-small role, 400 naming the bad field', async () => {
    const body = { scriptName: 'x.tap', script: UPROBE_SCRIPT, selector: { role: 'trader' } };
    const status = async (p: Promise<unknown>) => p.then(() => 200, (e: ApiCallError) => e.status);
    assert.equal(await status(stack.api('').call('GET', '/v1/hosts', z.unknown())), 401);
    assert.equal(await status(stack.api('tf_not-a-token').call('GET', '/v1/hosts', z.unknown())), 401);
    const viewer = (await stack.api().call('POST', '/v1/tokens', CreateTokenResponse, { name: 'ci-viewer', role: 'viewer' })).token;
    assert.equal(await status(stack.api(viewer).call('GET', '/v1/hosts', z.unknown())), 200);
    assert.equal(await status(stack.api(viewer).call('POST', '/v1/deployments', z.unknown(), body)), 403);
    assert.equal(await status(stack.api(viewer).call('POST', '/v1/tokens', z.unknown(), { name: 'x', role: 'admin' })), 403);
    for (const [bad, field] of [[{ ...body, selector: {} }, 'selector'], [{ ...body, ttl: '10 minutes' }, 'ttl'], [{ ...body, script: 42 }, 'script'], [{ ...body, selector: { 'bad key': 'x' } }, 'selector.bad key']] as const) {
      const err = await stack.api().call('POST', '/v1/deployments', z.unknown(), bad).then(() => undefined, (e: ApiCallError) => e);
      assert.equal(err?.status, 400);
      assert.ok(err?.body?.error.issues?.some((i) => i.path === field), `issues name ${field}: ${JSON.stringify(err?.body)}`);
    }
    assert.equal(await status(stack.api().call('GET', '/v1/deployments/d-000000unknown', z.unknown())), 404);
    assert.equal(await status(stack.api().call('GET', '/v1/deployments/nope', z.unknown())), 400);
    const noHosts = await stack.api().call('POST', '/v1/deployments', z.unknown(), { ...body, selector: { role: 'nobody' } }).then(() => undefined, (e: ApiCallError) => e);
    assert.equal(noHosts?.status, 409);
    // This stack runs no ClickHouse: loss accounting says so instead of failing obscurely.
    const someDeployment = (await stack.api().call('GET', '/v1/deployments', z.array(z.object({ id: z.string() }))))[0]!.id;
    const noClickHouse = await stack.api().call('GET', `/v1/deployments/${someDeployment}/loss`, z.unknown()).then(() => undefined, (e: ApiCallError) => e);
    assert.equal(noClickHouse?.status, 503);
    assert.match(noClickHouse!.message, /loss accounting needs ClickHouse/);
  });

  test('CLI: deploy shows the rollout as it happens; status, hosts, aggs, deployments, stop; compile errors with file:line:col', async () => {
    const script = join(stack.config.dataDir, 'calls.tap');
    writeFileSync(script, UPROBE_SCRIPT);
    const deployed = stack.cli(['deploy', script, '--select', 'zone=b', '--ttl', '1m']);
    assert.equal(deployed.code, 0, deployed.stderr);
    const id = /deployment (d-[0-9a-f]+): 1 host\(s\), 1 bundle\(s\)/.exec(deployed.stdout)?.[1];
    assert.ok(id, deployed.stdout);
    cleanups.push(() => stack.api().call('POST', `/v1/deployments/${id}/stop`, DeploymentView).catch(() => undefined));
    assert.match(deployed.stdout, /rollout (rolling|done)/);
    assert.match(deployed.stdout, /host-b: running/);
    const status = stack.cli(['status', id]);
    assert.match(status.stdout, /host-b\s+running/);
    assert.match(stack.cli(['hosts']).stdout, /host-a\s+live\s+role=trader,zone=a/);
    assert.match(stack.cli(['deployments']).stdout, new RegExp(`${id}\\s+fleet.tap|${id}\\s+calls.tap`));
    await eventually('aggregations from host-b', () => /@calls: [1-9]/.test(stack.cli(['aggs', id]).stdout));
    assert.match(stack.cli(['stop', id]).stdout, new RegExp(`${id}: stopped`));
    const broken = join(stack.config.dataDir, 'broken.tap');
    writeFileSync(broken, 'probe uprobe:$tracee:tf_add { @n = nosuchfunc(arg0); }\n');
    const bad = stack.cli(['deploy', broken, '--select', 'zone=b']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /broken\.tap:1:\d+: error:/);
    const usage = stack.cli(['deploy', broken]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--select K=V is required/);
  });

  test('TTL expiry detaches on time with the control plane stopped', async () => {
    const a = agents.get('host-a')!;
    const d = await deploy({ zone: 'a' }, { ttl: '3s' });
    await waitState(d.id, 'host-a', 'running');
    await stack.stopChild(controlPlane);
    const expired = await eventually('host-a to expire the deployment', async () => (await agentStatuses(stack.config, 'host-a', d.id)).find((s) => s.state === 'expired'), 10_000);
    assert.ok(expired.sentAtMs >= d.expiresAtMs && expired.sentAtMs < d.expiresAtMs + 1500, `expired ${expired.sentAtMs - d.expiresAtMs} ms after the TTL`);
    assert.deepEqual(a.runnerPids(), []);
  });
});
