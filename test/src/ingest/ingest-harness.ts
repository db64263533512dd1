import { readFileSync } from 'node:fs';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { compileBundle } from '@tapfleet/compiler';
import { ensureFleetResources, natsReplicas, connectJetStream, createClickHouse, type ClickHouseClient } from '@tapfleet/runtime';
import { hostKernelProfile } from '@tapfleet/runner';
import { batchMsgId, BUNDLES_OBJECT_STORE, EventBatchBuilder, eventsSubject, serializeBundle, type Bundle, type EventBatchHeader, type TapfleetConfig } from '@tapfleet/schemas';
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
      builder.add(record, Number(wall & 0xffffffffn), Number(wall >> 32n));
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

export { createClickHouse };
