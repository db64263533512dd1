import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lostStackSamples } from './stack-loss.js';

test('samples whose stack was lost are counted from the maps', () => {
  const maps = new Map([['@k', [{ key: ['[stack lost: the stack map was full (ENOMEM)]'], value: 6n }, { key: ['f+1'], value: 2n }]]]);
  assert.equal(lostStackSamples(maps), 6n);
});
