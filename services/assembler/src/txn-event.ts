import { EventLayouts, fitBatch, latencyField, PREFIX_FIELD, readField, scannedWallNs, type BatchFit, type BundleManifest, type EventLayout, type LayoutField, type ScannedBatch, type TxnShape } from '@tapfleet/schemas';

/**
 * One event that carries a transaction key, as the assembler keeps it: identity (host,
 * boot, seq), the host's wall time and that host's clock offset/uncertainty at batch time.
 * `correctedNs` = wall - offset: the reference clock's view, what spans are drawn on.
 */
export interface TxnEvent {
  deployment: string;
  txn: string;
  event: string;
  host: string;
  bootId: string;
  seq: number;
  wallNs: bigint;
  correctedNs: bigint;
  offsetNs: bigint;
  uncertaintyNs: bigint;
  /** The event's own duration (0 when its layout has no latency field). */
  latencyNs: bigint;
  pid: number;
  tid: number;
  /** The transaction shape of the bundle that emitted it, if the script declared one. */
  shape: TxnShape | undefined;
  /** A related transaction's key, from an event field named `txn_link` (a span link on the root). */
  link: string | undefined;
}

/** An event field of this name names a related transaction (linked, not merged). */
export const TXN_LINK_FIELD = 'txn_link';

interface Plan {
  layout: EventLayout;
  txn: LayoutField;
  latency?: LayoutField;
  link?: LayoutField;
}

/**
 * The corrected times a span can be stored at: txn_spans keeps times as UInt64, durations as
 * Int64 and the day as a ClickHouse Date (1970-01-01 .. 2149-06-06). An event outside that
 * (a host clock at 0, a wild offset) cannot be placed: such a row would make every insert of
 * its flush fail, and the retries would hold the whole assembler.
 */
export const LAST_PLACEABLE_NS = 65_535n * 86_400_000_000_000n;
export const placeable = (correctedNs: bigint): boolean => correctedNs >= 0n && correctedNs < LAST_PLACEABLE_NS;
/** A latency reaching back before 1970 is garbage (a u64 read of a negative number): it counts as none. */
export const saneLatency = (latencyNs: bigint, correctedNs: bigint): bigint => (latencyNs > 0n && latencyNs <= correctedNs ? latencyNs : 0n);

/**
 * Picks the events that carry a transaction key out of a batch, reading each record through
 * its bundle's layout (the one description in schemas/src/event-layout.ts); events without
 * a key are skipped without decoding. A record that fits no layout (schemas' fitBatch) is
 * skipped too: the caller dead-letters it, as ingest does.
 */
export class TxnEventDecoder {
  private readonly plans = new Map<string, Map<number, Plan | null>>();
  private readonly layouts = new Map<string, EventLayouts>();
  /** Events skipped because their corrected time cannot be placed (see `placeable`). */
  unplaceable = 0;

  private plansFor(manifest: BundleManifest): Map<number, Plan | null> {
    let p = this.plans.get(manifest.bundleId);
    if (!p) {
      p = new Map(
        manifest.events.map((layout) => {
          const txn = layout.txnField ? layout.fields.find((f) => f.name === layout.txnField) : undefined;
          const latency = latencyField(layout);
          const link = layout.fields.find((f) => f.name === TXN_LINK_FIELD);
          return [layout.id, txn ? { layout, txn, ...(latency ? { latency } : {}), ...(link ? { link } : {}) } : null];
        }),
      );
      this.plans.set(manifest.bundleId, p);
    }
    return p;
  }

  /** True when the bundle emits no event with a transaction key (its batches are acked at once). */
  hasNoTxnEvents(manifest: BundleManifest): boolean {
    return [...this.plansFor(manifest).values()].every((p) => p === null);
  }

  /** Each record's layout, and the records that fit none. */
  fit(batch: ScannedBatch, manifest: BundleManifest): BatchFit {
    let layouts = this.layouts.get(manifest.bundleId);
    if (!layouts) this.layouts.set(manifest.bundleId, (layouts = EventLayouts.of(manifest)));
    return fitBatch(batch, layouts);
  }

  decode(batch: ScannedBatch, manifest: BundleManifest, fit = this.fit(batch, manifest)): TxnEvent[] {
    const { header, view } = batch;
    const plans = this.plansFor(manifest);
    const out: TxnEvent[] = [];
    const offsetNs = BigInt(header.clock.offsetNs);
    const uncertaintyNs = BigInt(header.clock.uncertaintyNs);
    const shape = manifest.transaction;
    const n = batch.at.length;
    for (let i = 0; i < n; i++) {
      const layout = fit.layouts[i];
      if (!layout) continue;
      const plan = plans.get(layout.id);
      if (!plan) continue;
      const at = batch.at[i]!;
      const wallNs = scannedWallNs(batch, i);
      const correctedNs = wallNs - offsetNs;
      if (!placeable(correctedNs)) {
        this.unplaceable++;
        continue;
      }
      const key = readField(view, at, plan.txn);
      const latency = plan.latency ? readField(view, at, plan.latency) : 0n;
      out.push({
        deployment: header.deploymentId,
        txn: String(key),
        event: plan.layout.name,
        host: header.hostId,
        bootId: header.bootId,
        seq: header.firstSeq + i,
        wallNs,
        correctedNs,
        offsetNs,
        uncertaintyNs,
        latencyNs: saneLatency(typeof latency === 'bigint' ? latency : BigInt(latency), correctedNs),
        pid: view.getUint32(at + PREFIX_FIELD.pid.offset, true),
        tid: view.getUint32(at + PREFIX_FIELD.tid.offset, true),
        // Always both fields, in this order: one object shape for every event (this runs per event).
        shape,
        link: plan.link ? String(readField(view, at, plan.link)) : undefined,
      });
    }
    return out;
  }
}

/** (host, boot, seq): an event's identity across redeliveries and stored copies. */
export const sameEvent = (a: Pick<TxnEvent, 'host' | 'bootId' | 'seq'>, b: Pick<TxnEvent, 'host' | 'bootId' | 'seq'>) => a.seq === b.seq && a.host === b.host && a.bootId === b.bootId;
