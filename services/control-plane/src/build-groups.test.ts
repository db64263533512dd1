import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostView } from '@tapfleet/schemas';
import { groupHosts } from './build-groups.js';

const K1 = '11'.repeat(20);
const K2 = '22'.repeat(20);
const DIGEST = 'ab'.repeat(32);
const G1 = `${K1}-${DIGEST.slice(0, 12)}`;
const G2 = `${K2}-${DIGEST.slice(0, 12)}`;
const host = (hostId: string, kernel: string, bin?: { path: string; buildId: string }, profileDigest = DIGEST): HostView => ({
  hostId, bootId: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', labels: {}, agentVersion: '0.1.0', lastSeenMs: 0, live: true, runningDeployments: [],
  kernel: { buildId: kernel, release: 'r', version: 'v', arch: 'x86_64', profileDigest },
  binaries: bin ? [{ name: 'app', ...bin, profileDigest: 'cd'.repeat(32) }] : [],
});

test('groups: one per kernel build when the script probes no binary', () => {
  const groups = groupHosts([host('a', K1), host('b', K1), host('c', K2)], () => []);
  assert.deepEqual(groups.map((g) => [g.key, g.hosts.map((h) => h.hostId)]), [[G1, ['a', 'b']], [G2, ['c']]]);
});

test('groups: a host reporting another profile for the same kernel build never shares (or decides) the others\' bundle', () => {
  const groups = groupHosts([host('a', K1), host('forger', K1, undefined, 'ef'.repeat(32)), host('b', K1)], () => []);
  assert.deepEqual(groups.map((g) => g.hosts.map((h) => h.hostId)), [['a', 'b'], ['forger']]);
  assert.equal(groups[0]!.kernel.profileDigest, DIGEST);
});

test('groups: hosts with another build of a probed binary get their own bundle; unprobed binaries do not split', () => {
  const app1 = { path: '/opt/app', buildId: 'aa'.repeat(20) };
  const app2 = { path: '/opt/app', buildId: 'bb'.repeat(20) };
  const probed = groupHosts([host('a', K1, app1), host('b', K1, app1), host('c', K1, app2)], (paths) => [paths.app!]);
  assert.deepEqual(probed.map((g) => g.hosts.map((h) => h.hostId)), [['a', 'b'], ['c']]);
  assert.ok(probed.every((g) => g.key.startsWith(`${G1}/`)));
  const unprobed = groupHosts([host('a', K1, app1), host('c', K1, app2)], () => []);
  assert.equal(unprobed.length, 1);
});
