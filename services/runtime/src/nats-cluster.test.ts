import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, natsClusterNodes, natsReplicas, natsServerUrls, withNatsCluster } from './index.js';

test('one server by default: clients get nats.url, streams R1, no cluster nodes', () => {
  const c = loadConfig({ env: {} });
  assert.deepEqual(natsClusterNodes(c), []);
  assert.deepEqual(natsServerUrls(c), ['nats://127.0.0.1:4222']);
  assert.equal(natsReplicas(c), 1);
});

test('TAPFLEET_NATS_CLUSTER=3: three nodes on three ports each from the port base, every client given all three, R3', () => {
  const c = loadConfig({ env: { TAPFLEET_NATS_CLUSTER: '3', TAPFLEET_NATS_CLUSTER_PORT_BASE: '24230' } });
  assert.deepEqual(natsClusterNodes(c).map((n) => [n.service, n.serverName, n.clientPort, n.routePort, n.monitorPort]), [
    ['nats-1', 'tapfleet-1', 24230, 24231, 24232],
    ['nats-2', 'tapfleet-2', 24233, 24234, 24235],
    ['nats-3', 'tapfleet-3', 24236, 24237, 24238],
  ]);
  assert.deepEqual(natsServerUrls(c), ['nats://127.0.0.1:24230', 'nats://127.0.0.1:24233', 'nats://127.0.0.1:24236']);
  assert.equal(natsReplicas(c), 3);
  assert.equal(natsReplicas(withNatsCluster(c, 2)), 2, 'never more replicas than nodes');
  assert.equal(natsReplicas(withNatsCluster(c, 5)), 3);
});

test('an external cluster: nats.urls (TAPFLEET_NATS_URLS) wins, replicas as configured', () => {
  const c = loadConfig({ env: { TAPFLEET_NATS_URLS: 'nats://10.0.0.1:4222, nats://10.0.0.2:4222,nats://10.0.0.3:4222', TAPFLEET_NATS_REPLICAS: '3' } });
  assert.deepEqual(natsServerUrls(c), ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222', 'nats://10.0.0.3:4222']);
  assert.equal(natsReplicas(c), 3);
  assert.deepEqual(natsClusterNodes(c), [], 'the stack runs no cluster for it');
  assert.throws(() => loadConfig({ env: { TAPFLEET_NATS_URLS: 'http://10.0.0.1:4222' } }), /nats\.urls\[0\]: expected nats:\/\/HOST:PORT/);
  assert.throws(() => loadConfig({ env: { TAPFLEET_NATS_CLUSTER: '9' } }), /nats\.cluster\.nodes/);
});
