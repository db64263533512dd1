import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectJetStream, ensureFleetResources, FLEET_STREAMS } from '@tapfleet/runtime';
import { EVENTS_STREAM } from '@tapfleet/schemas';
import { eventually, FleetStack } from '../fleet/fleet-harness.js';

const METRICS_PORT = 48121;
const healthy = async () => (await fetch(`http://127.0.0.1:${METRICS_PORT}/healthz`).catch(() => undefined))?.ok === true;

/**
 * The assembler starts with the control plane and ingest, which create the fleet's streams and
 * stores: it can find the events stream made before the bundles store is. It must wait for the
 * store, not fail (a failed start had kept the process alive and unhealthy for minutes).
 */
const stack = new FleetStack(48100, 48110);
before(async () => {
  await stack.up(['nats']);
});
after(async () => {
  await stack.cleanup();
});

test('an assembler started between the events stream and the bundles store waits for the store, then serves', async () => {
  const { nc, jsm } = await connectJetStream(stack.config, { name: 'start-race', identity: 'control-plane' });
  try {
    await jsm.streams.add({ ...FLEET_STREAMS.find((s) => s.name === EVENTS_STREAM)! });
    const assembler = stack.spawnTapfleet(['assembler'], { assembler: { metricsPort: METRICS_PORT } }, 'assembler');
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(assembler.exitCode, null, 'still running: it waits, it does not fail');
    assert.equal(await healthy(), false, 'not serving before it has the store');
    await ensureFleetResources(nc, jsm, { update: true, replicas: 1 });
    await eventually('the assembler healthy once the store exists', healthy, 30_000, 200);
    assert.equal(assembler.exitCode, null);
  } finally {
    await nc.close();
  }
});
