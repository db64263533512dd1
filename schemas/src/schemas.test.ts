import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod/v3';
import * as S from './index.js';
import * as ex from './examples.test-fixtures.js';

/** Asserts the value is rejected and that one issue names exactly `path`. */
function rejectsAt(schema: z.ZodType, value: unknown, path: string) {
  const result = schema.safeParse(value);
  assert.equal(result.success, false, `expected rejection at ${path}`);
  const paths = S.issuesOf(result.error!).map((i) => i.path);
  assert.ok(paths.includes(path), `expected an issue at "${path}", got ${JSON.stringify(paths)}`);
}

const clone = <T>(v: T): T => structuredClone(v);

const cases: [string, z.ZodType, unknown, [string, (v: any) => void][]][] = [
  ['KernelProfile', S.KernelProfile, ex.kernelProfile, [
    ['buildId', (v) => { v.buildId = 'XYZ'; }],
    ['arch', (v) => { v.arch = 'sparc'; }],
    ['btf.sha256', (v) => { v.btf.sha256 = 'abc'; }],
    ['tracepoints.sched:sched_switch.fields[1].offset', (v) => { v.tracepoints['sched:sched_switch'].fields[1].offset = -1; }],
    ['tracepoints.sched', (v) => { v.tracepoints.sched = { id: 1, fields: [] }; }],
  ]],
  ['BinaryProfile', S.BinaryProfile, ex.binaryProfile, [
    ['path', (v) => { v.path = 'relative/bin'; }],
    ['symbols[0].fileOffset', (v) => { delete v.symbols[0].fileOffset; }],
    ['usdt[0].provider', (v) => { v.usdt[0].provider = ''; }],
  ]],
  ['EventLayout', S.EventLayout, ex.eventLayout, [
    ['fields[0].size', (v) => { v.fields[0].size = 4; }],
    ['fields[1].offset', (v) => { v.fields[1].offset = 44; }],
    ['fields[0].name', (v) => { v.fields[0].name = 'pid'; }],
    ['size', (v) => { v.size = 60; }],
    ['txnField', (v) => { v.txnField = 'nope'; }],
  ]],
  ['BundleManifest', S.BundleManifest, ex.manifest, [
    ['format', (v) => { v.format = 2; }],
    ['attach[0].kind', (v) => { v.attach[0].kind = 'kfunc'; }],
    ['attach[0].offset', (v) => { v.attach[0].offset = 'x'; }],
    ['events[0].fields[2].size', (v) => { v.events[0].fields[2].size = 1000; }],
    ['maps[0].name', (v) => { v.maps[0].name = 'lat'; }],
    ['limits.maxStringBytes', (v) => { v.limits.maxStringBytes = 4096; }],
  ]],
  ['EventBatchHeader', S.EventBatchHeader, ex.batchHeader, [
    ['hostId', (v) => { v.hostId = 'host.a'; }],
    ['bootId', (v) => { v.bootId = 'not-a-uuid'; }],
    ['deploymentId', (v) => { v.deploymentId = 'x'; }],
    ['clock.uncertaintyNs', (v) => { v.clock.uncertaintyNs = -1; }],
    ['clock.source', (v) => { v.clock.source = 'gps'; }],
  ]],
  ['AgentHello', S.AgentHello, ex.hello, [
    ['labels.bad key', (v) => { v.labels['bad key'] = 'x'; }],
    ['kernel.buildId', (v) => { v.kernel.buildId = ''; }],
    ['kernel.profileDigest', (v) => { v.kernel.profileDigest = 'x'; }],
    ['binaries[0].buildId', (v) => { v.binaries[0].buildId = 'zz'; }],
    ['binaries[0].name', (v) => { v.binaries[0].name = 'a b'; }],
  ]],
  ['AgentHeartbeat', S.AgentHeartbeat, ex.heartbeat, [
    ['clock.uncertaintyNs', (v) => { v.clock.uncertaintyNs = 1.5; }],
    ['runningDeployments[0]', (v) => { v.runningDeployments[0] = 'deploy'; }],
  ]],
  ['AgentDeploymentStatus', S.AgentDeploymentStatus, ex.status, [
    ['state', (v) => { v.state = 'exploded'; }],
    ['loss.ringBufferDrops', (v) => { v.loss.ringBufferDrops = -3; }],
    ['probes[0].ok', (v) => { v.probes[0].ok = 'yes'; }],
  ]],
  ['Deployment', S.Deployment, ex.deployment, [
    ['selector', (v) => { v.selector = {}; }],
    ['targets[0].hostId', (v) => { v.targets[0].hostId = ''; }],
    ['phase', (v) => { v.phase = 'halfway'; }],
  ]],
  ['AssignmentSet', S.AssignmentSet, ex.assignmentSet, [
    ['assignments[0].pids[0]', (v) => { v.assignments[0].pids = [0]; }],
    ['issuedAtMs', (v) => { v.issuedAtMs = -1; }],
    ['signature', (v) => { v.signature = 'not base64!'; }],
  ]],
  ['CreateDeploymentRequest', S.CreateDeploymentRequest, ex.createDeployment, [
    ['ttl', (v) => { v.ttl = '10 minutes'; }],
    ['script', (v) => { v.script = ''; }],
    ['selector', (v) => { v.selector = {}; }],
    ['canary', (v) => { v.canary = 'yes'; }],
  ]],
];

for (const [name, schema, valid, invalids] of cases) {
  describe(name, () => {
    test('a valid example round-trips through JSON unchanged', () => {
      const parsed = schema.parse(JSON.parse(JSON.stringify(valid)));
      assert.deepEqual(parsed, valid);
    });
    for (const [path, mutate] of invalids) {
      test(`rejects a bad ${path}`, () => {
        const bad = clone(valid);
        mutate(bad);
        rejectsAt(schema, bad, path);
      });
    }
  });
}

describe('parseOrThrow', () => {
  test('throws a SchemaError naming the field', () => {
    const bad = clone(ex.batchHeader) as unknown as Record<string, unknown>;
    bad.firstSeq = 'one';
    assert.throws(() => S.parseOrThrow(S.EventBatchHeader, bad, 'event batch header'), (e: unknown) => {
      assert.ok(e instanceof S.SchemaError);
      assert.equal(e.code, 'TAPFLEET_SCHEMA_INVALID');
      assert.equal(e.issues[0]?.path, 'firstSeq');
      assert.match(e.message, /invalid event batch header: firstSeq:/);
      return true;
    });
  });
});

describe('durations', () => {
  test('durationMs converts each unit', () => {
    assert.equal(S.durationMs('500ms'), 500);
    assert.equal(S.durationMs('30s'), 30_000);
    assert.equal(S.durationMs('10m'), 600_000);
    assert.equal(S.durationMs('2h'), 7_200_000);
    assert.throws(() => S.durationMs('5d'));
  });
});

describe('numbers on the wire', () => {
  // JSON.parse turns 1e999 into Infinity and keeps 1e300 an "integer": neither is a count,
  // a sequence or a size, and either would throw deep in an encoder or a Buffer write.
  test('integers are safe integers and numbers finite, as JSON can carry anything', () => {
    for (const firstSeq of [1e300, 2 ** 53, Infinity, -1, 1.5]) {
      const r = S.EventBatchHeader.safeParse(JSON.parse(JSON.stringify({ ...ex.batchHeader, firstSeq }).replace('null', '1e999')));
      assert.equal(r.success, false, `firstSeq ${firstSeq}`);
    }
    assert.equal(S.EventBatchHeader.safeParse({ ...ex.batchHeader, firstSeq: 2 ** 53 - 1 }).success, true);
    const clock = S.EventBatchHeader.safeParse(JSON.parse(JSON.stringify({ ...ex.batchHeader, clock: { offsetNs: 0, uncertaintyNs: 0 } }).replace('"offsetNs":0', '"offsetNs":1e999')));
    assert.equal(clock.success, false, 'an infinite clock offset');
  });
});
