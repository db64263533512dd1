import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapText, type BundleManifest } from '@tapfleet/schemas';
import { mapJson } from './format.js';

const layout = (kind: string) => ({ name: '@m', kind, keyFields: [], keySize: 0, valueSize: 8 }) as unknown as BundleManifest['maps'][number];

test('--json map lines carry what text mode prints: avg() its average (with sum and count), min/max no count', () => {
  const avg = [{ key: [], value: 60n, count: 3n }];
  assert.deepEqual(JSON.parse(mapJson(layout('avg'), avg)), { map: '@m', kind: 'avg', entries: [{ key: [], value: 20, sum: 60, count: 3 }] });
  assert.deepEqual(mapText(layout('avg'), avg), ['@m: 20']);
  assert.deepEqual(JSON.parse(mapJson(layout('max'), [{ key: [], value: 30n, count: 1n }])).entries, [{ key: [], value: 30 }]);
  assert.deepEqual(JSON.parse(mapJson(layout('value'), [{ key: ['cat'], value: 0n, text: '/etc/os-release' }])).entries, [{ key: ['cat'], value: '/etc/os-release' }]);
});
