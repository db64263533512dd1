import { readFileSync } from 'node:fs';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { compileBundle } from '@tapfleet/compiler';
import { ensureFleetResources, natsReplicas, connectJetStream, createClickHouse, DEAD_LETTER_ORIGIN_HEADER, type ClickHouseClient, type NatsConnection } from '@tapfleet/runtime';
import { hostKernelProfile } from '@tapfleet/runner';
import { batchMsgId, BUNDLES_OBJECT_STORE, DEAD_LETTER_REASON_HEADER, DEAD_LETTER_STREAM, deadLetterSubject, EventBatchBuilder, EVENTS_DEAD_LETTER_ORIGIN, eventsSubject, serializeBundle, type Bundle, type EventBatchHeader, type TapfleetConfig } from '@tapfleet/schemas';
import { TEST_SIGNING_KEY } from '../compiler/kernel-harness.js';

export const BOOT = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

/** A real bundle (compiled for this kernel) whose one event the synthetic publisher imitates. */
export async function orderBundle(): Promise<Bundle> {
  return compileBundle('orders.tap', 'probe tracepoint:syscalls:sys_enter_getpid { emit order { txn: pid, qty: 7, latency: 1000 + cpu, venue: comm }; }\n', {
    signingKey: TEST_SIGNING_KEY,
    profiles: { kernel: hostKernelProfile(['syscalls:sys_enter_getpid']), binaries: [] },
  });
}

export async function storeBundle(config: TapfleetConfig, bundle: Bundle): Promise<void> {
  const { nc, jsm } = await connectJetStream(config, { name: 'ingest-test-setup' });
  try {
    await ensureFleetResources(nc, jsm, { update: true, replicas: natsReplicas(config) });
    const store = await new Objm(nc).open(BUNDLES_OBJECT_STORE);
    if (!(await store.info(bundle.manifest.bundleId))) await store.putBlob({ name: bundle.manifest.bundleId }, new TextEncoder().encode(serializeBundle(bundle)));
  } finally {
    await nc.close();
  }
}

export interface SyntheticRun {
  deploymentId: string;
  hostId: string;
  events: number;
  batchSize?: number;
  firstSeq?: number;
  /** Pause between batches (a slow trickle across an outage). */
  pauseMs?: number;
  /** Sequences published as 12-byte records, which fit no layout (an agent would never publish them). */
  misfits?: number[];
}

/** Publishes agent-shaped batches of the bundle's event, like an agent would (Nats-Msg-Id per batch). */
export async function publishSynthetic(js: JetStreamClient, bundle: Bundle, run: SyntheticRun): Promise<void> {
  const layout = bundle.manifest.events[0]!;
  const record = new Uint8Array(layout.size);
  const view = new DataView(record.buffer);
  const builder = new EventBatchBuilder(1 << 20);
  const batchSize = run.batchSize ?? 2000;
  const inflight = new Set<Promise<unknown>>();
  const base = BigInt(Date.now()) * 1_000_000n;
  for (let first = run.firstSeq ?? 0; first < (run.firstSeq ?? 0) + run.events; first += batchSize) {
    const count = Math.min(batchSize, (run.firstSeq ?? 0) + run.events - first);
    for (let i = 0; i < count; i++) {
      view.setUint32(0, layout.id, true);
      view.setUint32(8, 4242, true);
      view.setUint32(12, 4242, true);
      record.set(new TextEncoder().encode('synthetic'), 24);
      for (const f of layout.fields) {
        if (f.type === 'str') record.set(new TextEncoder().encode('synthetic'), f.offset);
        else view.setBigInt64(f.offset, BigInt(first + i), true);
      }
      const wall = base + BigInt(first + i) * 1000n;
      builder.add(run.misfits?.includes(first + i) ? record.subarray(0, 12) : record, Number(wall & 0xffffffffn), Number(wall >> 32n));
    }
    const header: EventBatchHeader = { v: 1, hostId: run.hostId, bootId: BOOT, deploymentId: run.deploymentId, bundleId: bundle.manifest.bundleId, kernelBuildId: bundle.manifest.kernel.buildId, firstSeq: first, count, clock: { offsetNs: 0, uncertaintyNs: 100 } };
    const p = js.publish(eventsSubject(run.deploymentId, run.hostId), builder.finish(header), { msgID: batchMsgId(header), timeout: 30_000 });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (inflight.size >= 32) await Promise.race(inflight);
    if (run.pauseMs) await new Promise((r) => setTimeout(r, run.pauseMs));
  }
  await Promise.all(inflight);
}

export interface StoredCount {
  rows: number;
  distinct: number;
  minSeq: number;
  maxSeq: number;
}

/** Rows, distinct sequences and their span for one (deployment, host). */
export async function storedCount(ch: ClickHouseClient, db: string, deploymentId: string, hostId: string): Promise<StoredCount> {
  const rs = await ch.query({ query: `SELECT count() AS rows, uniqExact(seq) AS distinct, min(seq) AS min_seq, max(seq) AS max_seq FROM ${db}.probe_events WHERE deployment = '${deploymentId}' AND host = '${hostId}'`, format: 'JSONEachRow' });
  const [r] = await rs.json<{ rows: string; distinct: string; min_seq: string; max_seq: string }>();
  return { rows: Number(r!.rows), distinct: Number(r!.distinct), minSeq: Number(r!.min_seq), maxSeq: Number(r!.max_seq) };
}

/** The events stream's dead letters of one original subject, as stored (body and reason). */
export async function eventDeadLetters(nc: NatsConnection, subject: string): Promise<{ data: Uint8Array; reason: string }[]> {
  const js = jetstream(nc);
  const total = (await (await jetstreamManager(nc)).streams.info(DEAD_LETTER_STREAM)).state.messages;
  const consumer = await js.consumers.get(DEAD_LETTER_STREAM, { deliver_policy: DeliverPolicy.All, filter_subjects: deadLetterSubject(EVENTS_DEAD_LETTER_ORIGIN) });
  const out: { data: Uint8Array; reason: string }[] = [];
  let read = 0;
  for await (const m of await consumer.fetch({ max_messages: Math.max(1, total), expires: 2000 })) {
    read++;
    if (m.headers?.get(DEAD_LETTER_ORIGIN_HEADER) === subject) out.push({ data: m.data, reason: m.headers.get(DEAD_LETTER_REASON_HEADER) });
    if (m.info.pending === 0 || read >= total) break;
  }
  return out;
}

export { createClickHouse };
