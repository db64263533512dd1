import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { ackAfterWork, connectJetStream, ensureDurableConsumer, JetStreamPull, loadConfig, type NatsConnection } from '@tapfleet/runtime';
import { eventually } from '../fleet/fleet-harness.js';
import { testLogger } from '../stack-harness.js';

/** The services' one JetStream read loop (runtime JetStreamPull), against the test stack's nats-server. */
describe('JetStreamPull: ack after work, redelivery, a consumer deleted under it, stop', () => {
  const STREAM = `PULLTEST_${process.pid}`;
  const SUBJECT = `pulltest.${process.pid}`;
  const log = testLogger('jetstream-pull');
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;

  before(async () => {
    ({ nc, js, jsm } = await connectJetStream(loadConfig(), { name: 'jetstream-pull-test' }));
    await jsm.streams.add({ name: STREAM, subjects: [`${SUBJECT}.>`] });
  });

  after(async () => {
    await jsm.streams.delete(STREAM).catch(() => undefined);
    await nc.close();
  });

  test('each message acked after its work; a failed work is nak-ed and comes back; nothing is left pending', async () => {
    const spec = { name: 'acks', filterSubject: `${SUBJECT}.acks`, ackWaitMs: 30_000 };
    await ensureDurableConsumer(jsm, STREAM, spec);
    const seen: string[] = [];
    let failedOnce = false;
    const pull = new JetStreamPull({
      name: spec.name,
      open: () => js.consumers.get(STREAM, spec.name),
      maxMessages: 10,
      expiresMs: 1000,
      retry: { firstMs: 100, maxMs: 100 },
      read: ackAfterWork(async (m: JsMsg) => {
        const text = m.string();
        if (text === 'm3' && !failedOnce) {
          failedOnce = true;
          throw new Error('work failed once');
        }
        seen.push(`${text}#${m.info.deliveryCount}`);
      }, 50, log, 'test work'),
      log,
    });
    pull.start();
    try {
      for (let i = 0; i < 6; i++) await js.publish(`${SUBJECT}.acks`, `m${i}`);
      await eventually('every message worked', () => seen.length >= 6, 10_000);
      assert.deepEqual([...seen].sort(), ['m0#1', 'm1#1', 'm2#1', 'm3#2', 'm4#1', 'm5#1'], 'the failed one came back as delivery 2');
      await eventually('every message acked', async () => ((await jsm.consumers.info(STREAM, spec.name)).num_ack_pending === 0 ? true : undefined), 10_000);
    } finally {
      await pull.stop();
    }
  });

  test('a consumer deleted under the loop: its messages end, open(again) makes it again, reading goes on', async () => {
    const spec = { name: 'deleted', filterSubject: `${SUBJECT}.deleted`, ackWaitMs: 30_000 };
    await ensureDurableConsumer(jsm, STREAM, spec);
    const seen: string[] = [];
    const opens: boolean[] = [];
    const pull = new JetStreamPull({
      name: spec.name,
      open: async (again) => {
        opens.push(again);
        if (again) await ensureDurableConsumer(jsm, STREAM, spec);
        return js.consumers.get(STREAM, spec.name);
      },
      maxMessages: 10,
      expiresMs: 1000,
      endWhenDeleted: true,
      retry: { firstMs: 100, maxMs: 100 },
      read: ackAfterWork(async (m: JsMsg) => void seen.push(m.string()), 50, log, 'test work'),
      log,
    });
    pull.start();
    try {
      await js.publish(`${SUBJECT}.deleted`, 'before');
      await eventually('the first message', () => seen.includes('before'), 10_000);
      await jsm.consumers.delete(STREAM, spec.name);
      await eventually('the consumer made again', async () => (await jsm.consumers.info(STREAM, spec.name).then(() => true, () => undefined)), 15_000, 200);
      await js.publish(`${SUBJECT}.deleted`, 'after');
      await eventually('the message after the delete', () => seen.includes('after'), 15_000);
      assert.deepEqual(opens.slice(0, 2), [false, true]);
    } finally {
      await pull.stop();
    }
  });

  test('stop() ends a loop waiting on an empty consumer at once, and one paused between re-opens', async () => {
    const spec = { name: 'stops', filterSubject: `${SUBJECT}.stops`, ackWaitMs: 30_000 };
    await jsm.consumers.add(STREAM, { durable_name: spec.name, filter_subject: spec.filterSubject, ack_policy: AckPolicy.Explicit });
    const idle = new JetStreamPull({ name: spec.name, open: () => js.consumers.get(STREAM, spec.name), maxMessages: 10, expiresMs: 5000, retry: { firstMs: 100, maxMs: 100 }, read: ackAfterWork(async () => {}, 50, log, 'test work'), log });
    idle.start();
    await new Promise((r) => setTimeout(r, 300));
    // Bounded, not timed: a pull of 5 s, or a pause of 60 s, would outlast the 4 s.
    const stopsSoon = (pull: JetStreamPull) => Promise.race([pull.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still running'), 4000))]);
    assert.equal(await stopsSoon(idle), 'stopped');
    const failing = new JetStreamPull({ name: 'missing', open: () => Promise.reject(new Error('no such consumer')), maxMessages: 10, expiresMs: 1000, retry: { firstMs: 60_000, maxMs: 60_000 }, read: async () => {}, log });
    failing.start();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await stopsSoon(failing), 'stopped', 'a pause between re-opens ends with stop()');
  });
});
