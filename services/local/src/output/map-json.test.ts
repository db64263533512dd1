import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapText, type BundleManifest } from '@tapfleet/schemas';
import { mapJson } from './format.js';

const layout = (kind: string) => ({ name: '@m', kind, keyFields: [], keySize: 0, valueSize: 8 }) as unknown as BundleManifest['maps'][number];

test('--json map lines carry what text mode prints: avg() its average (with sum and count), min/max no count', () => {
  const avg = [{ key: [], value: 60n, count: 3n }];
  assert.deepEqual(JSON.parse(mapJson(layout('avg'), avg)), { type: 'map', map: '@m', kind: 'avg', entries: [{ key: [], value: 20, sum: 60, count: 3 }] });
  assert.deepEqual(mapText(layout('avg'), avg), ['@m: 20']);
  assert.deepEqual(JSON.parse(mapJson(layout('max'), [{ key: [], value: 30n, count: 1n }])).entries, [{ key: [], value: 30 }]);
  assert.deepEqual(JSON.parse(mapJson(layout('value'), [{ key: ['cat'], value: 0n, text: '/etc/os-release' }])).entries, [{ key: ['cat'], value: '/etc/os-release' }]);
});

test('avg() prints ordered by the average, as bpftrace does, not by the sum it keeps', () => {
  const avgs = [{ key: [1n], value: 50n, count: 1n }, { key: [2n], value: 90n, count: 3n }];
  assert.deepEqual(mapText({ ...layout('avg'), name: '@a' }, avgs), ['@a[2]: 30', '@a[1]: 50']);
});

test('stats(): text as bpftrace prints it (count, average, total, ordered by average), --json the three numbers', () => {
  const stats = [{ key: ['a'], value: 100n, count: 1n }, { key: ['b'], value: 6n, count: 3n }, { key: ['c'], value: -3n, count: 2n }, { key: ['d'], value: 0n, count: 0n }];
  assert.deepEqual(mapText(layout('stats'), stats), ['@m[c]: count 2, average -1, total -3', '@m[d]: count 0, average 0, total 0', '@m[b]: count 3, average 2, total 6', '@m[a]: count 1, average 100, total 100']);
  assert.deepEqual(JSON.parse(mapJson(layout('stats'), stats.slice(0, 1))).entries, [{ key: ['a'], count: 1, average: 100, total: 100 }]);
});
