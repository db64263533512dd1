import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminTokenPath } from '@tapfleet/control-plane';
import { AggregationsView, ApiError, DeploymentView } from '@tapfleet/schemas';
import { PREFIX_FIELD } from '@tapfleet/schemas';
import { AgentProcess, buildTraceeAt, eventually, FleetStack, fleetBinDir, storedEvents } from './fleet-harness.js';

/**
 * Positional parameters in a deployment: `tapfleet deploy FILE PARAM...` (and `params` in
 * POST /v1/deployments) compiles them in, as `tapfleet run` does; they are part of the deployment
 * and of its bundles' cache key; one the script reads and was not given is a 422 with the fix.
 */
const SCRIPT = 'probe uprobe:$tracee:tf_add /pid == $1/ { @calls[str($2), $#] = count(); }\n';
/** The pid set by a begin probe's map write (run by each host's runner before its probes attach). */
const BEGIN_SCRIPT = 'probe begin { @target = $1; }\nprobe uprobe:$tracee:tf_add /pid == @target/ { @adds = count(); }\nprobe interval:300ms { @ticks++; }\n';

/** A label value an agent may claim: ESC [2J clears a terminal, the newline would print a row of its own. */
const HOSTILE_LABEL = 'x\u001b[2Jy\nfake-host  live';
/** A published record's event id (its layout in the bundle manifest). */
const eventId = (record: Uint8Array) => new DataView(record.buffer, record.byteOffset).getUint32(PREFIX_FIELD.event_id.offset, true);

describe('fleet: positional parameters', () => {
  const stack = new FleetStack(39200, 39220);
  const tracees = new Map<string, ChildProcess>();
  let traceeBin = '';
  const deployed: string[] = [];

  before(async () => {
    await stack.up();
    await stack.startControlPlane();
    const bin = buildTraceeAt(join(fleetBinDir(), 'params', 'tracee'));
    traceeBin = bin;
    const agents: AgentProcess[] = [];
    for (const [hostId, port] of [['host-a', 39221], ['host-b', 39222]] as const) {
      const tracee = spawn(bin, ['loop', '2000'], { stdio: 'ignore' });
      tracees.set(hostId, tracee);
      // host-b's second label is hostile text: a terminal escape and a newline faking a row.
      const labels: Record<string, string> = hostId === 'host-b' ? { role: 'params', note: HOSTILE_LABEL } : { role: 'params' };
      agents.push(new AgentProcess(stack, { hostId, labels, scopePid: tracee.pid!, binaries: { tracee: bin } }, port));
    }
    await Promise.all(agents.map((a) => a.start()));
  });

  after(async () => {
    for (const id of deployed) await stack.api().call('POST', `/v1/deployments/${id}/stop`, DeploymentView).catch(() => undefined);
    for (const t of tracees.values()) t.kill('SIGKILL');
    await stack.cleanup();
  });

  const deploy = async (params?: unknown, script = SCRIPT) => {
    const res = await fetch(`${stack.config.controlPlane.url}/v1/deployments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readFileSync(adminTokenPath(stack.config.dataDir), 'utf8').trim()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scriptName: 'params.tap', script, selector: { role: 'params' }, ttl: '5m', ...(params !== undefined ? { params } : {}) }),
    });
    const body: unknown = await res.json();
    if (res.status === 201) deployed.push(DeploymentView.parse(body).id);
    return { status: res.status, body };
  };

  test('$1 filters by one host\'s pid, str($2) and $# are the words given; the deployment records them', async () => {
    const pidA = String(tracees.get('host-a')!.pid);
    const r = await deploy([pidA, 'tagged']);
    assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 800));
    const d = DeploymentView.parse(r.body);
    assert.deepEqual(d.params, [pidA, 'tagged']);
    const view = await eventually('host-a counting', async () => {
      const v = await stack.api().call('GET', `/v1/deployments/${d.id}/aggs`, AggregationsView);
      const calls = v.maps.find((m) => m.name === '@calls');
      return v.hosts.length === 2 && calls?.entries.length && BigInt(calls.entries[0]!.value) > 0n ? v : undefined;
    }, 30_000);
    // Only host-a's tracee has pid $1: host-b's probe fires and its predicate drops every hit.
    const calls = view.maps.find((m) => m.name === '@calls')!;
    assert.deepEqual(calls.entries.map((e) => e.key), [['tagged', '2']]);
    const list = stack.cli(['deployments']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${d.id} +params\\.tap ${pidA} tagged +`, 'm'));
  });

  test('hostile label values print escaped in `tapfleet hosts` and `tapfleet deployments`: no terminal escape, no extra row', async () => {
    const res = await fetch(`${stack.config.controlPlane.url}/v1/deployments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readFileSync(adminTokenPath(stack.config.dataDir), 'utf8').trim()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scriptName: 'labels.tap', script: SCRIPT, selector: { note: HOSTILE_LABEL }, ttl: '5m', params: ['1', 'x'] }),
    });
    const body: unknown = await res.json();
    assert.equal(res.status, 201, JSON.stringify(body).slice(0, 800));
    const d = DeploymentView.parse(body);
    deployed.push(d.id);
    assert.deepEqual(d.targets.map((t) => t.hostId), ['host-b']);
    const escaped = 'note=x\\u001b[2Jy\\u000afake-host  live';
    const hosts = stack.cli(['hosts']);
    assert.equal(hosts.code, 0, hosts.stderr);
    assert.doesNotMatch(hosts.stdout, /\u001b/);
    assert.equal(hosts.stdout.trimEnd().split('\n').length, 3, hosts.stdout);
    assert.ok(hosts.stdout.includes(escaped), hosts.stdout);
    const list = stack.cli(['deployments']);
    assert.equal(list.code, 0, list.stderr);
    assert.doesNotMatch(list.stdout, /\u001b/);
    assert.doesNotMatch(list.stdout, /^fake-host/m);
    assert.match(list.stdout, new RegExp(`^${d.id} +labels\\.tap 1 x +\\S+ +1 +${escaped.replace(/[\\[\]]/g, '\\$&')}`, 'm'));
    // --json stays JSON, with the same value.
    const json = stack.cli(['deployments', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { deployments: { id: string; selector: Record<string, string> }[] };
    assert.equal(parsed.deployments.find((x) => x.id === d.id)?.selector.note, HOSTILE_LABEL);
  });

  test('parameters are part of the bundle\'s cache identity: other values compile again, the same values are a cache hit', async () => {
    const pidB = String(tracees.get('host-b')!.pid);
    const first = DeploymentView.parse((await deploy([pidB, 'b'])).body);
    assert.equal(first.compiles.cached, 0, 'new parameters: compiled');
    const again = DeploymentView.parse((await deploy([pidB, 'b'])).body);
    assert.equal(again.compiles.cached, again.compiles.total, 'the same parameters: every bundle from the compile cache');
    assert.deepEqual(again.bundles, first.bundles);
    const other = DeploymentView.parse((await deploy([pidB, 'c'])).body);
    assert.equal(other.compiles.cached, 0);
    assert.notDeepEqual(other.bundles, first.bundles, 'str($2) is compiled in: another bundle');
  });

  test('a parameter the script reads and was not given is a 422 naming it with the fix; too many or too long is a 400', async () => {
    const missing = await deploy(['1']);
    assert.equal(missing.status, 422, JSON.stringify(missing.body).slice(0, 500));
    const message = ApiError.parse(missing.body).error.message;
    assert.match(message, /params\.tap:1:\d+: error: \$2 is not given \(the deployment has 1 parameter\(s\)\): a deployment must give every parameter its script reads/);
    assert.match(message, /tapfleet deploy FILE 1 VALUE2 --select K=V/);
    const tooMany = await deploy(Array(65).fill('1'));
    assert.equal(tooMany.status, 400);
    assert.deepEqual(ApiError.parse(tooMany.body).error.issues?.map((i) => i.path), ['params']);
    const tooLong = await deploy(['1', 'x'.repeat(4097)]);
    assert.equal(tooLong.status, 400);
    assert.match(JSON.stringify(ApiError.parse(tooLong.body).error.issues), /at most 4096 bytes/);
  });

  test('a begin probe\'s map write runs on every host before its probes attach: @target from $1 filters there; an interval\'s write runs on its timer', async () => {
    const pidB = String(tracees.get('host-b')!.pid);
    const r = await deploy([pidB], BEGIN_SCRIPT);
    assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 800));
    const d = DeploymentView.parse(r.body);
    const view = await eventually('host-b counting', async () => {
      const v = await stack.api().call('GET', `/v1/deployments/${d.id}/aggs`, AggregationsView);
      const adds = v.maps.find((m) => m.name === '@adds');
      const target = v.maps.find((m) => m.name === '@target');
      const ticks = v.maps.find((m) => m.name === '@ticks');
      return v.hosts.length === 2 && target?.entries.length === 2 && ticks?.entries.length === 2 && adds?.entries.length && BigInt(adds.entries[0]!.value) > 0n ? v : undefined;
    }, 30_000);
    // Each host's runner wrote @target (a value: one row per host); only host-b's tracee has that pid.
    assert.deepEqual(view.maps.find((m) => m.name === '@target')!.entries.map((e) => [e.key, e.value]), [[['host-a'], pidB], [['host-b'], pidB]]);
    assert.ok(view.maps.find((m) => m.name === '@ticks')!.entries.every((e) => BigInt(e.value) >= 1n), 'each host\'s agent runs the interval\'s program');
    const states = await stack.api().call('GET', `/v1/deployments/${d.id}`, DeploymentView);
    assert.deepEqual(Object.values(states.hosts).map((h) => h.state), ['running', 'running']);
  });

  test('parameters in probe points pick each host\'s binary and function; begin/interval printf() lines flow as printf_N events', async () => {
    const script = [
      'probe begin { printf("tag %s\\n", str($2)); }',
      'probe uprobe:$1:$3 { @calls[str($3)] = count(); }',
      'probe interval:300ms { @t++; printf("tick %d\\n", @t); }',
    ].join('\n');
    const r = await deploy([traceeBin, 'fleet', 'tf_add'], script);
    assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 800));
    const d = DeploymentView.parse(r.body);
    await eventually('both hosts counting tf_add', async () => {
      const v = await stack.api().call('GET', `/v1/deployments/${d.id}/aggs`, AggregationsView);
      const calls = v.maps.find((m) => m.name === '@calls');
      return v.hosts.length === 2 && calls?.entries.length === 1 && calls.entries[0]!.key[0] === 'tf_add' && BigInt(calls.entries[0]!.value) > 0n ? v : undefined;
    }, 30_000);
    // printf_0 is begin's (once per host, run before the probes attached), printf_1 the interval's, with @t as its program left it.
    const events = await eventually('three ticks from each host', async () => {
      const e = await storedEvents(stack.config, d.id);
      return e.records.size === 2 && [...e.records.values()].every((rs) => rs.filter((x) => eventId(x) === 1).length >= 3) ? e : undefined;
    }, 30_000);
    for (const [host, records] of events.records) {
      const begin = records.filter((x) => eventId(x) === 0);
      assert.equal(begin.length, 1, host);
      assert.equal(Buffer.from(begin[0]!.subarray(40)).toString('utf8').replace(/\0.*$/s, ''), 'fleet');
      const ticks = records.filter((x) => eventId(x) === 1).map((x) => new DataView(x.buffer, x.byteOffset).getBigInt64(40, true));
      assert.deepEqual(ticks, ticks.map((_, i) => BigInt(i + 1)), `${host}: @t counts 1, 2, 3... one record a tick`);
    }
    // A parameter the probe point needs and was not given: the 422 names it at the point.
    const missing = await deploy([traceeBin], 'probe uprobe:$1:$2 { @n = count(); }');
    assert.equal(missing.status, 422);
    assert.match(ApiError.parse(missing.body).error.message, /params\.tap:1:17: error: \$2 is not given \(1 parameter\(s\) were\), and the probe point uprobe:\$1:\$2 needs it/);
    assert.match(ApiError.parse(missing.body).error.message, /give it after the script: tapfleet deploy params\.tap \S+ VALUE2/);
  });

  test('tapfleet deploy FILE PARAM... sends the words after FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-params-'));
    const file = join(dir, 'cli.tap');
    writeFileSync(file, SCRIPT);
    const r = stack.cli(['deploy', file, String(tracees.get('host-a')!.pid), 'from-cli', '--select', 'role=params', '--no-wait', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const d = DeploymentView.parse(JSON.parse(r.stdout));
    deployed.push(d.id);
    assert.deepEqual(d.params, [String(tracees.get('host-a')!.pid), 'from-cli']);
  });
});
