import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MapLayout } from '@tapfleet/schemas';
import { decodeSnapshot, type StackResolver } from './aggregations.js';

test('ksym/usym/strftime keys are named by the resolver (usym with the tgid beside the address); without one they stay numbers', () => {
  const layout: MapLayout = {
    name: '@k', kind: 'count', keySize: 32, valueSize: 8, maxEntries: 16,
    keyFields: [{ name: 'k0', type: 'ksym', offset: 0, size: 8 }, { name: 'k1', type: 'usym', offset: 8, size: 16 }, { name: 'k2', type: 'u64', offset: 24, size: 8, strftime: '%H' }],
  };
  const key = new Uint8Array(32);
  const v = new DataView(key.buffer);
  v.setBigUint64(0, 0xffffffff81000000n, true);
  v.setBigUint64(8, 0x401000n, true);
  v.setBigUint64(16, 4242n, true);
  v.setBigUint64(24, 7n, true);
  const value = new Uint8Array(8);
  new DataView(value.buffer).setBigInt64(0, 3n, true);
  const resolver: StackResolver = {
    resolve: () => 'unused',
    symbol: (type, addr, tgid) => `${type}:${addr.toString(16)}:${tgid}`,
    time: (format, ns) => `${format}@${ns}`,
  };
  assert.deepEqual(decodeSnapshot(layout, [{ key, value }], resolver), [{ key: ['ksym:ffffffff81000000:0', 'usym:401000:4242', '%H@7'], value: 3n }]);
  assert.deepEqual(decodeSnapshot(layout, [{ key, value }])[0]!.key, ['0xffffffff81000000', '0x401000', 7n]);
});
