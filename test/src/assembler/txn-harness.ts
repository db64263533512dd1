import type { JetStreamClient } from '@nats-io/jetstream';
import { compileBundle } from '@tapfleet/compiler';
import type { ClickHouseClient } from '@tapfleet/runtime';
import { hostKernelProfile } from '@tapfleet/runner';
import { batchMsgId, EventBatchBuilder, eventsSubject, type Bundle, type EventBatchHeader } from '@tapfleet/schemas';
import { TEST_SIGNING_KEY } from '../compiler/kernel-harness.js';
import { BOOT } from '../ingest/ingest-harness.js';

/**
 * A real bundle (compiled for this kernel) declaring a two-hop transaction: gw_out on the
 * gateway host, risk_in and risk_out on the risk host; risk_out is final and carries a latency.
 */
export async function orderPathBundle(): Promise<Bundle> {
  const script = [
    'probe tracepoint:syscalls:sys_enter_getpid { emit gw_out { txn: pid } }',
    'probe tracepoint:syscalls:sys_enter_getppid { emit risk_in { txn: pid } }',
    'probe tracepoint:syscalls:sys_enter_gettid { emit risk_out { txn: pid, latency: cpu } }',
    'hop wire = gw_out -> risk_in;',
    'hop risk = risk_in -> risk_out;',
    'final risk_out;',
    '',
  ].join('\n');
  return compileBundle('order-path.tap', script, {
    signingKey: TEST_SIGNING_KEY,
    profiles: { kernel: hostKernelProfile(['syscalls:sys_enter_getpid', 'syscalls:sys_enter_getppid', 'syscalls:sys_enter_gettid']), binaries: [] },
  });
}

export interface TxnTruth {
  /** Transaction key -> true ns of each event on the reference clock. */
  gwOut: bigint;
  riskIn: bigint;
  riskOut: bigint;
}

/** The known truth for order `i`: a 20-26 us wire hop and a 50 us risk hop. */
export const truthOf = (base: bigint, i: number): TxnTruth => {
  const gwOut = base + BigInt(i) * 100_000n;
  const riskIn = gwOut + 20_000n + BigInt(i % 7) * 1000n;
  return { gwOut, riskIn, riskOut: riskIn + 50_000n };
};

export interface HostClock {
  hostId: string;
  /** This host's clock minus the reference: its wall stamps read this much late. */
  offsetNs: bigint;
  uncertaintyNs: number;
}

/** Agent-shaped batches of one host's events (one per listed event), seq from `firstSeq`. */
export async function publishEvents(js: JetStreamClient, bundle: Bundle, deploymentId: string, host: HostClock, events: { event: string; txn: number; trueNs: bigint }[], firstSeq: number, batchSize = 500): Promise<number> {
  const byName = new Map(bundle.manifest.events.map((e) => [e.name, e]));
  const builder = new EventBatchBuilder(1 << 20);
  let seq = firstSeq;
  for (let at = 0; at < events.length; at += batchSize) {
    const chunk = events.slice(at, at + batchSize);
    for (const e of chunk) {
      const layout = byName.get(e.event)!;
      const record = new Uint8Array(layout.size);
      const view = new DataView(record.buffer);
      view.setUint32(0, layout.id, true);
      view.setUint32(8, e.txn, true);
      view.setUint32(12, e.txn, true);
      for (const f of layout.fields) {
        if (f.name === 'txn') f.size === 8 ? view.setBigUint64(f.offset, BigInt(e.txn), true) : view.setUint32(f.offset, e.txn, true);
        else if (f.name === 'latency') f.size === 8 ? view.setBigUint64(f.offset, 5000n, true) : view.setUint32(f.offset, 5000, true);
      }
      const wall = e.trueNs + host.offsetNs;
      builder.add(record, Number(wall & 0xffffffffn), Number(wall >> 32n));
    }
    const header: EventBatchHeader = { v: 1, hostId: host.hostId, bootId: BOOT, deploymentId, bundleId: bundle.manifest.bundleId, kernelBuildId: bundle.manifest.kernel.buildId, firstSeq: seq, count: chunk.length, clock: { offsetNs: Number(host.offsetNs), uncertaintyNs: host.uncertaintyNs } };
    await js.publish(eventsSubject(deploymentId, host.hostId), builder.finish(header), { msgID: batchMsgId(header), timeout: 30_000 });
    seq += chunk.length;
  }
  return seq;
}

export interface SpanCounts {
  roots: number;
  rootRows: number;
  complete: number;
  hops: Record<string, number>;
}

/** What txn_spans holds for a deployment: newest version of each span (FINAL), and raw row counts. */
export async function spanCounts(ch: ClickHouseClient, db: string, deploymentId: string): Promise<SpanCounts> {
  const q = async <T>(sql: string) => (await ch.query({ query: sql, format: 'JSONEachRow' })).json<T>();
  const [r] = await q<{ roots: string; rows: string; complete: string }>(
    `SELECT uniqExact(span_id) AS roots, count() AS rows, countIf(has(attr_values, 'true')) AS complete FROM ${db}.txn_spans FINAL WHERE deployment = '${deploymentId}' AND kind = 'txn'`);
  const hops = await q<{ name: string; n: string }>(`SELECT name, uniqExact(span_id) AS n FROM ${db}.txn_spans FINAL WHERE deployment = '${deploymentId}' AND kind = 'hop' GROUP BY name`);
  return { roots: Number(r!.roots), rootRows: Number(r!.rows), complete: Number(r!.complete), hops: Object.fromEntries(hops.map((h) => [h.name, Number(h.n)])) };
}
