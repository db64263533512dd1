import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { adminTokenPath } from '@tapfleet/control-plane';
import { connectJetStream, connectNats, createRedis, type Redis } from '@tapfleet/runtime';
import {
  ApiError, ASSIGNMENTS_BUCKET, AssignmentSet, DEAD_LETTER_STREAM, DeploymentView, deadLetterSubject, heartbeatSubject, helloSubject,
  kernelProfileObject, PROFILES_OBJECT_STORE, statusSubject, TIME_SUBJECT,
} from '@tapfleet/schemas';
import { AgentProcess, eventually, FleetStack, sleep } from './fleet-harness.js';

const HOST = 'hostile-a';
const SCRIPT = 'probe tracepoint:syscalls:sys_enter_getppid { @n = count(); }\n';
const valid = { scriptName: 'hostile.tap', script: SCRIPT, selector: { role: 'hostile' }, ttl: '5m', canary: false };

/**
 * Hostile input against a real control plane (NATS, Redis, one real agent on the kernel):
 * every API body field, every Redis record, assignment key, profile object and agent bus
 * message it reads, given out-of-range, wrong-type and garbage values. Nothing may crash it
 * or leave a host unusable; every refusal names what is wrong.
 */
describe('hostile input: no crash, no bricked host, a clear error', () => {
  const stack = new FleetStack(33000, 33010);
  let controlPlane: ChildProcess;
  let scoped: ChildProcess;
  const url = stack.config.controlPlane.url;
  const adminToken = () => readFileSync(adminTokenPath(stack.config.dataDir), 'utf8').trim();
  // Made once the stack is up: the factory reads the password stack up creates.
  let redis: Redis;

  /** One raw API call: status, parsed body (if JSON), headers. */
  const raw = async (method: string, path: string, body?: string, token: string | null = adminToken()) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  };
  const deploy = async (extra: Record<string, unknown> = {}) => {
    const r = await raw('POST', '/v1/deployments', JSON.stringify({ ...valid, ...extra }));
    assert.equal(r.status, 201, r.text);
    return DeploymentView.parse(r.json);
  };
  const view = async (id: string) => DeploymentView.parse((await raw('GET', `/v1/deployments/${id}`)).json);
  const waitHostState = (id: string, state: string) =>
    eventually(`${HOST} to report ${state} for ${id}`, async () => ((await view(id)).hosts[HOST]?.state === state ? true : undefined), 30_000);
  const stop = (id: string) => raw('POST', `/v1/deployments/${id}/stop`);
  const metric = async (name: string, label?: string) =>
    (await (await fetch(`${url}/metrics`)).text()).split('\n').filter((l) => l.startsWith(name) && (!label || l.includes(label))).reduce((a, l) => a + Number(l.split(' ').pop()), 0);
  const healthy = async () => {
    assert.equal(controlPlane.exitCode, null, 'the control plane is still running');
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  };
  const restartControlPlane = async () => {
    await stack.stopChild(controlPlane);
    controlPlane = await stack.startControlPlane();
  };
  /** A valid deployment reaches the real agent and runs, then stops: the host is not bricked. */
  const deployStillWorks = async () => {
    const d = await deploy();
    await waitHostState(d.id, 'running');
    await stop(d.id);
    await waitHostState(d.id, 'stopped');
  };

  before(async () => {
    await stack.up();
    redis = createRedis(stack.config);
    await redis.connect();
    controlPlane = await stack.startControlPlane();
    scoped = spawn('sleep', ['100000'], { stdio: 'ignore' });
    await new AgentProcess(stack, { hostId: HOST, labels: { role: 'hostile' }, scopePid: scoped.pid! }, 33011).start();
  });

  after(async () => {
    scoped.kill('SIGKILL');
    redis?.disconnect();
    await stack.cleanup();
  });

  test('the original brick: ttl 99999999999999999999h is a 400 naming ttl; after a restart deploys to the host still work', async () => {
    const r = await raw('POST', '/v1/deployments', JSON.stringify({ ...valid, ttl: '99999999999999999999h' }));
    assert.equal(r.status, 400, r.text);
    const err = ApiError.parse(r.json);
    assert.equal(err.error.issues?.[0]?.path, 'ttl');
    assert.match(err.error.issues?.[0]?.message ?? '', /between 1s and 720h/);
    assert.equal(await redis.zcard('tf:deployments'), 0, 'nothing was persisted');
    await restartControlPlane();
    await deployStillWorks();
  });

  test('a TTL over Node\'s 2^31 ms timer limit (700h) runs instead of expiring at once on the agent', async () => {
    const d = await deploy({ ttl: '700h' });
    await waitHostState(d.id, 'running');
    // The unchained timer fired after 1 ms; give the agent several status rounds to prove it did not.
    await sleep(1500);
    assert.equal((await view(d.id)).hosts[HOST]?.state, 'running');
    await stop(d.id);
    await waitHostState(d.id, 'stopped');
  });

  test('every API body field, path parameter and header with out-of-range, wrong-type and garbage values: 4xx naming the field, never 5xx', async () => {
    const long = (n: number) => 'x'.repeat(n);
    const deployCases: [string, unknown][] = [
      ...[undefined, '', 5, null, long(300), {}, []].map((v): [string, unknown] => ['scriptName', v]),
      ...[undefined, '', 7, null, long(1_000_001), [], { a: 1 }].map((v): [string, unknown] => ['script', v]),
      ...[undefined, {}, 'role=hostile', null, [], { 'bad key!': 'v' }, { role: 5 }, { role: long(300) }, { [long(64)]: 'v' },
        Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']))].map((v): [string, unknown] => ['selector', v]),
      ...['99999999999999999999h', '9007199254740993ms', '0s', '999ms', '721h', '-1s', '5d', '1e9h', '1.5h', ' 5m', '', long(10_000), 5, -1, 1e308, null, true, [], {}]
        .map((v): [string, unknown] => ['ttl', v]),
      ...['yes', 1, null, 'true', []].map((v): [string, unknown] => ['canary', v]),
    ];
    for (const [field, value] of deployCases) {
      const body = { ...valid } as Record<string, unknown>;
      if (value === undefined && field !== 'ttl') delete body[field];
      else body[field] = value;
      if (value === undefined && field === 'ttl') continue; // ttl has a default
      const r = await raw('POST', '/v1/deployments', JSON.stringify(body));
      assert.equal(r.status, 400, `${field}=${JSON.stringify(value)?.slice(0, 60)}: ${r.text.slice(0, 300)}`);
      const err = ApiError.parse(r.json);
      assert.ok(err.error.issues?.some((i) => i.path === field || i.path.startsWith(`${field}.`)), `${field}: issues name the field: ${JSON.stringify(err.error.issues)}`);
    }
    // Bodies that are not an object at all, or not JSON, or a prototype key.
    for (const body of ['[]', 'null', '"str"', '42', '{', '', '{"selector":{"__proto__":"x"},"scriptName":"a","script":"b"}', '\u0000\u00ff']) {
      const r = await raw('POST', '/v1/deployments', body);
      assert.equal(r.status, 400, `body ${JSON.stringify(body)}: ${r.text}`);
      assert.match(ApiError.parse(r.json).error.code, /^invalid_(json|body)$/);
    }
    const tokenCases: [string, unknown][] = [
      ...['', 5, long(65), 'a\nb', 'tab\there', null, []].map((v): [string, unknown] => ['name', v]),
      ...['root', 5, null, 'ADMIN', ''].map((v): [string, unknown] => ['role', v]),
    ];
    for (const [field, value] of tokenCases) {
      const r = await raw('POST', '/v1/tokens', JSON.stringify({ name: 'ok', role: 'viewer', [field]: value }));
      assert.equal(r.status, 400, `${field}=${JSON.stringify(value)}: ${r.text}`);
      assert.ok(ApiError.parse(r.json).error.issues?.some((i) => i.path === field), `${field}: ${r.text}`);
    }
    for (const id of ['d-', 'D-ABCDEF12', 'd-' + long(1000), '..', '%00', '%2e%2e', 'd-12345%0a', encodeURIComponent('d-123456; DROP')]) {
      for (const [method, suffix] of [['GET', ''], ['POST', '/stop'], ['GET', '/aggs'], ['GET', '/loss']] as const) {
        const r = await raw(method, `/v1/deployments/${id}${suffix}`);
        assert.ok(r.status >= 400 && r.status < 500, `${method} ${id}${suffix}: ${r.status} ${r.text}`);
      }
    }
    const unknown = await raw('GET', '/v1/deployments/d-abcdef123456');
    assert.equal(unknown.status, 404);
    for (const token of ['', 'x', long(8000), 'tf_\u00e9', null]) {
      const r = await raw('GET', '/v1/hosts', undefined, token);
      assert.equal(r.status, 401, `token ${JSON.stringify(token)?.slice(0, 20)}`);
    }
    assert.equal((await raw('GET', '/v1/deployments?limit=-1&offset=1e99')).status, 200, 'unknown query parameters are ignored');
    assert.equal(await metric('tapfleet_control_plane_http_requests_total', 'status="500"'), 0, 'no request answered 500');
    await healthy();
    await deployStillWorks();
  });

  test('garbage planted in every Redis record the control plane reads: lists skip and name it, lookups answer, nothing crashes', async () => {
    const before = await metric('tapfleet_control_plane_corrupt_records_total');
    const good = await deploy();
    await waitHostState(good.id, 'running');
    // Deployments: not JSON, wrong types, the record the old code wrote for a huge TTL.
    const now = Date.now();
    const planted: Record<string, string> = {
      'd-notjson0001': '{"id":',
      'd-wrongtype01': JSON.stringify({ id: 'd-wrongtype01', phase: 42 }),
      'd-brick000001': JSON.stringify({ ...good, id: 'd-brick000001', expiresAtMs: 3.6e26, createdAtMs: now }),
    };
    for (const [id, text] of Object.entries(planted)) await redis.multi().set(`tf:deployment:${id}`, text).zadd('tf:deployments', now + 1, id).exec();
    // Hosts: unreadable records in the inventory set.
    await redis.multi().set('tf:host:ghost-1', '\u0000garbage').set('tf:host:ghost-2', JSON.stringify({ hostId: 5, labels: 'x' })).sadd('tf:hosts', 'ghost-1', 'ghost-2').exec();
    // A deployment's host states and aggregation snapshots.
    await redis.hset(`tf:deployment:${good.id}:hosts`, 'ghost-1', 'not json');
    await redis.hset(`tf:deployment:${good.id}:aggs`, 'ghost-1', '{"maps": 7}');

    const list = await raw('GET', '/v1/deployments');
    assert.equal(list.status, 200, list.text);
    assert.ok((list.json as { id: string }[]).some((d) => d.id === good.id), 'readable deployments are still listed');
    const skipped = list.headers.get('tapfleet-skipped-records') ?? '';
    for (const id of Object.keys(planted)) assert.match(skipped, new RegExp(`tf:deployment:${id}`));
    assert.match(skipped, /expiresAtMs/);
    const one = await raw('GET', '/v1/deployments/d-brick000001');
    assert.equal(one.status, 500);
    assert.equal(ApiError.parse(one.json).error.code, 'corrupt_record');
    assert.match(ApiError.parse(one.json).error.message, /tf:deployment:d-brick000001.*expiresAtMs/);
    const hosts = await raw('GET', '/v1/hosts');
    assert.equal(hosts.status, 200, hosts.text);
    assert.deepEqual((hosts.json as { hostId: string }[]).map((h) => h.hostId), [HOST]);
    assert.match(hosts.headers.get('tapfleet-skipped-records') ?? '', /tf:host:ghost-1.*tf:host:ghost-2/);
    assert.equal((await raw('GET', `/v1/deployments/${good.id}`)).status, 200);
    assert.equal((await raw('GET', `/v1/deployments/${good.id}/aggs`)).status, 200);

    // Tokens: a viewer token whose record is overwritten authenticates nobody (401, not 500).
    const created = await raw('POST', '/v1/tokens', JSON.stringify({ name: 'victim', role: 'viewer' }));
    const victim = (created.json as { token: string }).token;
    assert.equal((await raw('GET', '/v1/hosts', undefined, victim)).status, 200);
    const tokenKeys = await redis.keys('tf:token:*');
    for (const k of tokenKeys) if ((await redis.get(k))?.includes('"victim"')) await redis.set(k, '{"name":"victim","role":"root"}');
    assert.equal((await raw('GET', '/v1/hosts', undefined, victim)).status, 401);
    // The admin token's record garbled too: a restart re-registers the file's token.
    for (const k of tokenKeys) if ((await redis.get(k))?.includes('bootstrap-admin')) await redis.set(k, 'garbage');
    assert.equal((await raw('GET', '/v1/hosts')).status, 401);
    await restartControlPlane();
    assert.equal((await raw('GET', '/v1/hosts')).status, 200, 'the admin token works again after a restart');

    // The sweep goes past the unreadable records: a 2 s deployment still expires.
    await stop(good.id);
    const short = await deploy({ ttl: '2s' });
    await eventually(`${short.id} to be expired by the sweep`, async () => ((await view(short.id)).phase === 'expired' ? true : undefined), 30_000);
    assert.ok(await metric('tapfleet_control_plane_corrupt_records_total') > before, 'unreadable records are counted on /metrics');
    await healthy();
    for (const id of Object.keys(planted)) await redis.multi().del(`tf:deployment:${id}`).zrem('tf:deployments', id).exec();
    await redis.multi().del('tf:host:ghost-1', 'tf:host:ghost-2').srem('tf:hosts', 'ghost-1', 'ghost-2').exec();
  });

  test('an unreadable assignment key (the huge-TTL entry) is salvaged by the next deploy; an unreadable profile is a 409', async () => {
    const nc = await connectNats(stack.config, { name: 'hostile-kv' });
    try {
      const kv = await new Kvm(nc).open(ASSIGNMENTS_BUCKET);
      const keep = { deploymentId: 'd-keep00000001', bundleId: 'a'.repeat(64), expiresAtMs: Date.now() + 60_000, pids: [] };
      await kv.put(HOST, JSON.stringify({ hostId: HOST, revision: 1, assignments: [keep, { deploymentId: 'd-brick0000002', bundleId: 'b'.repeat(64), expiresAtMs: 3.6e26, pids: [] }] }));
      const d = await deploy();
      await waitHostState(d.id, 'running');
      const set = AssignmentSet.parse((await kv.get(HOST))!.json());
      assert.deepEqual(set.assignments.map((a) => a.deploymentId), [d.id], 'an unsigned set is never re-signed: the host\'s set is rebuilt from the deployment records');
      await stop(d.id);
      await waitHostState(d.id, 'stopped');
      const host = ((await raw('GET', '/v1/hosts')).json as { kernel: { buildId: string; profileDigest: string } }[])[0]!;

      // A kernel profile overwritten with garbage: the deploy is refused with the reason, not a 500.
      const profiles = await new Objm(nc).open(PROFILES_OBJECT_STORE);
      const name = kernelProfileObject(host.kernel.buildId, host.kernel.profileDigest);
      const original = (await profiles.getBlob(name))!;
      await profiles.putBlob({ name }, new TextEncoder().encode('{"truncated'));
      try {
        const r = await raw('POST', '/v1/deployments', JSON.stringify({ ...valid, script: `${SCRIPT}// ${Date.now()}\n` }));
        assert.equal(r.status, 409, r.text);
        assert.equal(ApiError.parse(r.json).error.code, 'profile_unreadable');
        assert.match(ApiError.parse(r.json).error.message, /does not match its digest/);
      } finally {
        await profiles.putBlob({ name }, original);
      }
      await healthy();
      await deployStillWorks();
    } finally {
      await nc.close();
    }
  });

  test('garbage and out-of-range values on the agent subjects are dead-lettered; the control plane keeps answering', async () => {
    const { nc, js, jsm } = await connectJetStream(stack.config, { name: 'hostile-bus' });
    try {
      const dlqCount = async () => (await jsm.streams.info(DEAD_LETTER_STREAM, { subjects_filter: deadLetterSubject('agent') })).state.subjects?.[deadLetterSubject('agent')] ?? 0;
      const dlqBefore = await dlqCount();
      const id = { hostId: 'ghost-bus', bootId: '00000000-0000-4000-8000-000000000000', agentVersion: '0', sentAtMs: Date.now() };
      const kernel = { buildId: 'ab'.repeat(20), release: 'x', version: 'x', arch: 'x86_64', profileDigest: 'c'.repeat(64) };
      const messages: [string, string][] = [
        [helloSubject('ghost-bus'), 'not json'],
        [helloSubject('ghost-bus'), '\u0000\u0001\u0002'],
        [helloSubject('ghost-bus'), JSON.stringify({ ...id, labels: {}, kernel, binaries: [], sentAtMs: 3.6e26 })],
        [helloSubject('ghost-bus'), JSON.stringify({ ...id, labels: { 'bad key!': 'v' }, kernel, binaries: [] })],
        [helloSubject('other-host'), JSON.stringify({ ...id, labels: {}, kernel, binaries: [] })],
        [heartbeatSubject('ghost-bus'), JSON.stringify({ ...id, runningDeployments: ['x'], labels: {}, kernelBuildId: 'zz' })],
        [heartbeatSubject('ghost-bus'), JSON.stringify({ ...id, runningDeployments: [], labels: {}, kernelBuildId: 'ab'.repeat(20), clock: { offsetNs: 1.5, uncertaintyNs: -1, sampledAtMs: 9e15 } })],
        [statusSubject('ghost-bus'), JSON.stringify({ ...id, deploymentId: 'd-abcdef123456', state: 'exploded' })],
        [statusSubject('ghost-bus'), JSON.stringify({ ...id, deploymentId: 'd-abcdef123456', state: 'running', runnerRestarts: -5, loss: { producedByKernel: 'many' } })],
        [statusSubject('ghost-bus'), '[]'],
        ['tapfleet.agent.unknown.ghost-bus', '{}'],
      ];
      for (const [subject, body] of messages) await js.publish(subject, new TextEncoder().encode(body));
      nc.publish('tapfleet.aggs.d-abcdef123456.ghost-bus', new TextEncoder().encode('{"maps":'));
      const reply = await nc.request(TIME_SUBJECT, new TextEncoder().encode('\u0000garbage'), { timeout: 5000 });
      assert.match(new TextDecoder().decode(reply.data), /"nowNs":"\d+"/, 'the time service answers a garbage request');
      await eventually('every malformed agent message to be dead-lettered', async () => (await dlqCount()) - dlqBefore >= messages.length + 1 ? true : undefined);
      const hosts = await raw('GET', '/v1/hosts');
      assert.equal(hosts.status, 200);
      assert.deepEqual((hosts.json as { hostId: string }[]).map((h) => h.hostId), [HOST], 'no malformed hello reached the inventory');
      await healthy();
      await deployStillWorks();
    } finally {
      await nc.close();
    }
  });
});
