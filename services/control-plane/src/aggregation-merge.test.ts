import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AggregationSnapshot, MapLayout } from '@tapfleet/schemas';
import { mergeSnapshots } from './aggregation-merge.js';

const layout = (name: string, kind: MapLayout['kind']): MapLayout => ({ name, kind, keySize: 8, keyFields: [{ name: 'k0', type: 'str', offset: 0, size: 8 }], valueSize: 8, maxEntries: 10 });
const snap = (hostId: string, maps: AggregationSnapshot['maps']): AggregationSnapshot => ({
  hostId, bootId: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', agentVersion: '0.1.0', sentAtMs: 0, deploymentId: 'd-aaaaaaaa', bundleId: 'ab'.repeat(32), maps,
});

test('merge: counts add, avg keeps sum and count, min/max ignore hosts that saw nothing, histograms add bucket-wise', () => {
  const layouts = [layout('@n', 'count'), layout('@avg', 'avg'), layout('@lo', 'min'), layout('@hi', 'max'), layout('@h', 'hist')];
  const a = snap('a', [
    { name: '@n', entries: [{ key: ['x'], value: '3' }, { key: ['y'], value: '1' }] },
    { name: '@avg', entries: [{ key: ['x'], value: '30', count: '3' }] },
    { name: '@lo', entries: [{ key: ['x'], value: '0', count: '0' }] },
    { name: '@hi', entries: [{ key: ['x'], value: '-5', count: '1' }] },
    { name: '@h', entries: [{ key: ['x'], value: '3', buckets: ['0', '1', '2'] }] },
  ]);
  const b = snap('b', [
    { name: '@n', entries: [{ key: ['x'], value: '4' }] },
    { name: '@avg', entries: [{ key: ['x'], value: '10', count: '1' }] },
    { name: '@lo', entries: [{ key: ['x'], value: '7', count: '1' }] },
    { name: '@hi', entries: [{ key: ['x'], value: '-9', count: '1' }] },
    { name: '@h', entries: [{ key: ['x'], value: '5', buckets: ['1', '1', '3'] }] },
  ]);
  const v = mergeSnapshots('d-aaaaaaaa', layouts, [b, a]);
  assert.deepEqual(v.hosts, ['a', 'b']);
  const m = (name: string) => v.maps.find((x) => x.name === name)!.entries;
  assert.deepEqual(m('@n'), [{ key: ['x'], value: '7' }, { key: ['y'], value: '1' }]);
  assert.deepEqual(m('@avg'), [{ key: ['x'], value: '40', count: '4' }]);
  assert.deepEqual(m('@lo'), [{ key: ['x'], value: '7', count: '1' }], "host a's empty zero does not win");
  assert.deepEqual(m('@hi'), [{ key: ['x'], value: '-5', count: '1' }]);
  assert.deepEqual(m('@h'), [{ key: ['x'], value: '8', buckets: ['1', '2', '5'] }]);
});

test('merge: big counters stay exact (beyond 2^53)', () => {
  const big = '18000000000000000000';
  const v = mergeSnapshots('d-aaaaaaaa', [layout('@n', 'sum')], [snap('a', [{ name: '@n', entries: [{ key: ['x'], value: big }] }]), snap('b', [{ name: '@n', entries: [{ key: ['x'], value: '1' }] }])]);
  assert.equal(v.maps[0]!.entries[0]!.value, '18000000000000000001');
});

test('merge: a value map is host-local state, kept as rows per host (host id first in the key), never added', () => {
  const layouts = [{ ...layout('@start', 'value'), valueType: 'i64' as const }, { ...layout('@who', 'value'), valueType: 'str' as const }];
  const a = snap('a', [{ name: '@start', entries: [{ key: ['x'], value: '100' }] }, { name: '@who', entries: [{ key: ['x'], value: '0', text: 'bash' }] }]);
  const b = snap('b', [{ name: '@start', entries: [{ key: ['x'], value: '7' }] }, { name: '@who', entries: [{ key: ['x'], value: '0', text: 'node' }] }]);
  const v = mergeSnapshots('d-aaaaaaaa', layouts, [b, a]);
  assert.deepEqual(v.maps[0], { name: '@start', kind: 'value', entries: [{ key: ['a', 'x'], value: '100' }, { key: ['b', 'x'], value: '7' }] });
  assert.deepEqual(v.maps[1]!.entries, [{ key: ['a', 'x'], value: '0', text: 'bash' }, { key: ['b', 'x'], value: '0', text: 'node' }]);
});

test('merge: stats() keeps total and count as avg() does, so the fleet prints count, average and total of every host', () => {
  const a = snap('a', [{ name: '@s', entries: [{ key: ['x'], value: '36', count: '4' }] }]);
  const b = snap('b', [{ name: '@s', entries: [{ key: ['x'], value: '-6', count: '2' }, { key: ['y'], value: '5', count: '1' }] }]);
  const v = mergeSnapshots('d-aaaaaaaa', [layout('@s', 'stats')], [a, b]);
  assert.deepEqual(v.maps[0], { name: '@s', kind: 'stats', entries: [{ key: ['x'], value: '30', count: '6' }, { key: ['y'], value: '5', count: '1' }] });
});
