import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadTapsets } from '@tapfleet/compiler';
import { traceCommand } from '../compiler/kernel-harness.js';
import { buildDemo, demoBinaryPaths, demoShellCommand, type DemoStage } from './demo-pipeline.js';

/** This file's ports inside the test netns. */
const PORTS = 38450;
const ORDERS = 1000;
const REJECT_EVERY = 50;
const DELAY_US = { gateway: 200, risk: 300, matcher: 500 };

/** Every point of tapsets/demo.tap, emitting the order id it bound (and what else it carries). */
const SCRIPT = `
probe demo.client.order_send { emit client_send { txn: $order, qty: $qty, price: $price, side: $side } }
probe demo.client.ack_recv { emit client_ack { txn: $order, status: $status, rtt: $rtt_ns } }
probe demo.gateway.order_recv { emit gateway_in { txn: $order } }
probe demo.gateway.order_fwd { emit gateway_out { txn: $order } }
probe demo.gateway.ack_fwd { emit gateway_ack { txn: $order, status: $status } }
probe demo.gateway.process { emit gateway_took { txn: $order, took: latency } }
probe demo.risk.order_recv { emit risk_in { txn: $order } }
probe demo.risk.order_fwd { emit risk_out { txn: $order } }
probe demo.risk.order_reject { emit risk_reject { txn: $order, qty: $qty } }
probe demo.risk.ack_fwd { emit risk_ack { txn: $order, status: $status } }
probe demo.risk.process { emit risk_took { txn: $order, took: latency } }
probe demo.matcher.order_recv { emit matcher_in { txn: $order } }
probe demo.matcher.order_ack { emit matcher_ack { txn: $order, status: $status } }
probe demo.matcher.process { emit matcher_took { txn: $order, took: latency } }
`;

describe('the demo tapset in the kernel, on the running pipeline', () => {
  let bins: Record<DemoStage, string>;
  before(() => {
    bins = buildDemo();
  });

  test('every alias fires once per order with its id; injected delays are lower bounds of the measured stage times', async () => {
    const { aliases } = loadTapsets();
    const command = demoShellCommand(bins, { portBase: PORTS, count: ORDERS, rate: 1000, delayUs: DELAY_US, rejectEvery: REJECT_EVERY });
    const r = await traceCommand(SCRIPT, ['/bin/sh', '-c', command], { tapsets: aliases, binaryPaths: demoBinaryPaths(bins), commandTree: true, ringBufferBytes: 8 << 20 });
    // The shell exits with the client's status (0: every order answered) or 9x if a stage did not stop cleanly.
    assert.equal(r.commandExit, 0);
    assert.equal(r.ringbufDrops, 0n);
    assert.equal(r.attachFailures, 0);

    const ids = (name: string) => r.collected.filter((e) => e.name === name).map((e) => Number(e.fields.txn as bigint)).sort((a, b) => a - b);
    const all = Array.from({ length: ORDERS }, (_, i) => i + 1);
    const rejected = all.filter((i) => i % REJECT_EVERY === 0);
    const passed = all.filter((i) => i % REJECT_EVERY !== 0);
    const expected: Record<string, number[]> = {
      client_send: all, client_ack: all, gateway_in: all, gateway_out: all, gateway_ack: all, gateway_took: all, risk_in: all,
      risk_out: passed, risk_reject: rejected, risk_ack: passed, risk_took: passed, matcher_in: passed, matcher_ack: passed, matcher_took: passed,
    };
    for (const [name, want] of Object.entries(expected)) assert.deepEqual(ids(name), want, name);

    // Each event comes from the process the alias names.
    const comms = new Set(r.collected.filter((e) => e.name.startsWith('risk')).map((e) => e.fields.comm));
    assert.deepEqual([...comms], ['tf-demo-risk']);

    // What the points carry: the client's order fields, statuses (1 filled, 2 rejected).
    const send = r.collected.find((e) => e.name === 'client_send' && e.fields.txn === 7n)!;
    assert.deepEqual([send.fields.qty, send.fields.price, send.fields.side], [8n, 10007n, 1n]);
    const rejects = r.collected.filter((e) => e.name === 'risk_reject');
    assert.ok(rejects.every((e) => e.fields.qty === 1000000n));
    for (const e of r.collected.filter((e) => e.name === 'client_ack')) assert.equal(e.fields.status, Number(e.fields.txn) % REJECT_EVERY === 0 ? 2n : 1n);

    // A busy wait of D us between a stage's receive and forward points: never less than D.
    for (const [stage, us] of Object.entries(DELAY_US)) {
      const took = r.collected.filter((e) => e.name === `${stage}_took`).map((e) => Number(e.fields.took as bigint));
      assert.ok(took.every((ns) => ns >= us * 1000), `${stage}: min ${Math.min(...took)} ns < ${us} us`);
      took.sort((a, b) => a - b);
      console.log(`# ${stage}: injected ${us} us, measured p50 ${(took[took.length >> 1]! / 1000).toFixed(1)} us`);
    }
    // The client's own round trip of a filled order spans all three stages' delays.
    const floor = (DELAY_US.gateway + DELAY_US.risk + DELAY_US.matcher) * 1000;
    for (const e of r.collected.filter((e) => e.name === 'client_ack' && e.fields.status === 1n)) assert.ok(Number(e.fields.rtt as bigint) >= floor, `rtt ${e.fields.rtt}`);
    // And the hop from the gateway's forward to risk's receive is one loopback hop: after, never before.
    const at = (name: string) => new Map(r.collected.filter((e) => e.name === name).map((e) => [e.fields.txn, e.fields.ktime_ns as bigint]));
    const gwOut = at('gateway_out');
    for (const [txn, t] of at('risk_in')) assert.ok(t > gwOut.get(txn)!, `order ${txn}`);
  });
});
