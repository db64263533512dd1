import { latencyField, PREFIX_FIELD, recordEventId, type BundleManifest, type DecodedBatch, type EventLayout, type LayoutField } from '@tapfleet/schemas';
import { NUMERIC_SLOTS, slotFields, STRING_SLOTS } from './event-slots.js';
import { encodeString, type RowBinaryWriter } from './row-binary.js';

const NS_PER_DAY = 86_400e9;

interface EventPlan {
  layout: EventLayout;
  probe: Buffer;
  name: Buffer;
  numeric: (LayoutField | undefined)[];
  strings: (LayoutField | undefined)[];
  extra: LayoutField[];
  txn?: LayoutField;
  latency?: LayoutField;
}

/** Why a batch cannot be stored; the message goes to the dead-letter subject with this. */
export class BatchRejected extends Error {}

function plan(layout: EventLayout): EventPlan {
  const slotted = slotFields(layout);
  const byName = new Map(layout.fields.map((f) => [f.name, f]));
  return {
    layout,
    probe: encodeString((layout.probes ?? []).join(', ')),
    name: encodeString(layout.name),
    numeric: Array.from({ length: NUMERIC_SLOTS }, (_, i) => slotted.find((f) => f.slot === `n${i}`)),
    strings: Array.from({ length: STRING_SLOTS }, (_, i) => slotted.find((f) => f.slot === `s${i}`)),
    extra: slotted.filter((f) => f.slot === 'extra'),
    ...(layout.txnField ? { txn: byName.get(layout.txnField)! } : {}),
    ...(latencyField(layout) ? { latency: latencyField(layout)! } : {}),
  };
}

function fieldText(view: DataView, data: Uint8Array, f: LayoutField): string {
  switch (f.type) {
    case 'str': {
      const bytes = data.subarray(f.offset, f.offset + f.size);
      const nul = bytes.indexOf(0);
      return Buffer.from(nul === -1 ? bytes : bytes.subarray(0, nul)).toString('utf8');
    }
    case 'u64': return view.getBigUint64(f.offset, true).toString();
    case 'i64': return view.getBigInt64(f.offset, true).toString();
    case 'u32': return String(view.getUint32(f.offset, true));
    case 'i32': return String(view.getInt32(f.offset, true));
    case 'u16': return String(view.getUint16(f.offset, true));
    case 'i16': return String(view.getInt16(f.offset, true));
    case 'u8': return String(view.getUint8(f.offset));
    case 'i8': return String(view.getInt8(f.offset));
  }
}

/** A numeric field as Int64 bytes: 8-byte fields copied, smaller ones sign- or zero-extended. */
function writeInt64(w: RowBinaryWriter, view: DataView, data: Uint8Array, f: LayoutField): void {
  if (f.size === 8) return w.raw8(data, f.offset);
  let v: number;
  switch (f.type) {
    case 'u32': v = view.getUint32(f.offset, true); break;
    case 'i32': v = view.getInt32(f.offset, true); break;
    case 'u16': v = view.getUint16(f.offset, true); break;
    case 'i16': v = view.getInt16(f.offset, true); break;
    case 'u8': v = view.getUint8(f.offset); break;
    default: v = view.getInt8(f.offset); break;
  }
  w.u32(v >>> 0);
  w.u32(v < 0 ? 0xffffffff : 0);
}

/**
 * Writes a batch's events as probe_events rows, decoding each record with its bundle's
 * layouts. Every record is checked before any row is written: a batch is stored whole
 * or rejected whole, never half.
 */
export class EventRowEncoder {
  private readonly plans = new Map<string, Map<number, EventPlan>>();

  private plansFor(manifest: BundleManifest): Map<number, EventPlan> {
    let p = this.plans.get(manifest.bundleId);
    if (!p) {
      p = new Map(manifest.events.map((e) => [e.id, plan(e)]));
      this.plans.set(manifest.bundleId, p);
    }
    return p;
  }

  /**
   * Encodes the batch's rows (those whose sequence is not in `skip`); returns how many. Each row
   * goes to `writerFor(its transaction key)`: one writer, or one per shard (shard-routing.ts).
   */
  encode(batch: DecodedBatch, manifest: BundleManifest, writerFor: (txn: string) => RowBinaryWriter, skip?: ReadonlySet<number>): number {
    const { header, records } = batch;
    const plans = this.plansFor(manifest);
    const found: EventPlan[] = [];
    const views: DataView[] = [];
    records.forEach((r, i) => {
      const view = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
      views.push(view);
      const id = r.data.length >= 4 ? recordEventId(view, 0) : -1;
      const p = plans.get(id);
      if (!p) throw new BatchRejected(`record ${i} (seq ${header.firstSeq + i}) has event id ${id}, which bundle ${header.bundleId.slice(0, 12)} does not define`);
      if (r.data.length !== p.layout.size) throw new BatchRejected(`record ${i} (seq ${header.firstSeq + i}) is ${r.data.length} bytes; event ${p.layout.name} is ${p.layout.size}`);
      found.push(p);
    });
    const deployment = encodeString(header.deploymentId);
    const host = encodeString(header.hostId);
    const boot = encodeString(header.bootId);
    const bundle = encodeString(header.bundleId);
    const offset = BigInt(header.clock.offsetNs);
    const uncertainty = BigInt(header.clock.uncertaintyNs);
    let written = 0;
    records.forEach((r, i) => {
      if (skip?.has(header.firstSeq + i)) return;
      written++;
      const p = found[i]!;
      const d = r.data;
      const view = views[i]!;
      const txn = p.txn ? fieldText(view, d, p.txn) : '';
      const w = writerFor(txn);
      w.date(Math.floor(Number(r.wallNs) / NS_PER_DAY));
      w.u64(r.wallNs);
      w.encoded(deployment);
      w.encoded(host);
      w.encoded(boot);
      w.u64n(header.firstSeq + i);
      w.encoded(bundle);
      w.encoded(p.probe);
      w.encoded(p.name);
      w.u32(view.getUint32(PREFIX_FIELD.pid.offset, true));
      w.u32(view.getUint32(PREFIX_FIELD.tid.offset, true));
      w.u16(view.getUint32(PREFIX_FIELD.cpu.offset, true));
      w.cString(d, PREFIX_FIELD.comm.offset, PREFIX_FIELD.comm.size);
      w.string(txn);
      if (p.latency) writeInt64(w, view, d, p.latency);
      else w.zeros(8);
      w.i64(offset);
      w.u64(uncertainty);
      for (const f of p.numeric) f ? writeInt64(w, view, d, f) : w.zeros(8);
      for (const f of p.strings) f ? w.cString(d, f.offset, f.size) : w.u8(0);
      w.stringArray(p.extra.map((f) => f.name));
      w.stringArray(p.extra.map((f) => fieldText(view, d, f)));
      w.endRow();
    });
    return written;
  }
}
