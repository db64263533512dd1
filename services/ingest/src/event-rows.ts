import { EventLayouts, fitBatch, latencyField, PREFIX_FIELD, type BatchFit, type BundleManifest, type EventLayout, type LayoutField, type Misfit, type ScannedBatch } from '@tapfleet/schemas';
import { NUMERIC_SLOTS, slotFields, STRING_SLOTS } from './event-slots.js';
import { encodeString, RowBinaryWriter } from './row-binary.js';

const NS_PER_DAY = 86_400e9;

interface EventPlan {
  layout: EventLayout;
  /** probe and event as RowBinary strings, one copy for every row of the event. */
  probeAndName: Buffer;
  numeric: (LayoutField | undefined)[];
  strings: (LayoutField | undefined)[];
  extra: LayoutField[];
  /** extra_names as a RowBinary array (the same on every row of the event). */
  extraNames: Buffer;
  txn?: LayoutField;
  latency?: LayoutField;
}

function plan(layout: EventLayout): EventPlan {
  const slotted = slotFields(layout);
  const byName = new Map(layout.fields.map((f) => [f.name, f]));
  const extra = slotted.filter((f) => f.slot === 'extra');
  const names = new RowBinaryWriter();
  names.stringArray(extra.map((f) => f.name));
  return {
    layout,
    probeAndName: Buffer.concat([encodeString((layout.probes ?? []).join(', ')), encodeString(layout.name)]),
    numeric: Array.from({ length: NUMERIC_SLOTS }, (_, i) => slotted.find((f) => f.slot === `n${i}`)),
    strings: Array.from({ length: STRING_SLOTS }, (_, i) => slotted.find((f) => f.slot === `s${i}`)),
    extra,
    extraNames: Buffer.from(names.bytes()),
    ...(layout.txnField ? { txn: byName.get(layout.txnField)! } : {}),
    ...(latencyField(layout) ? { latency: latencyField(layout)! } : {}),
  };
}

/** A field's value as text (txn keys, extra values): strings up to their NUL, numbers in decimal. */
function fieldText(view: DataView, base: number, f: LayoutField): string {
  const at = base + f.offset;
  switch (f.type) {
    case 'str': {
      const bytes = new Uint8Array(view.buffer, view.byteOffset + at, f.size);
      const nul = bytes.indexOf(0);
      return Buffer.from(bytes.buffer, bytes.byteOffset, nul === -1 ? f.size : nul).toString('utf8');
    }
    case 'u64': return view.getBigUint64(at, true).toString();
    case 'i64': return view.getBigInt64(at, true).toString();
    case 'u32': return String(view.getUint32(at, true));
    case 'i32': return String(view.getInt32(at, true));
    case 'u16': return String(view.getUint16(at, true));
    case 'i16': return String(view.getInt16(at, true));
    case 'u8': return String(view.getUint8(at));
    case 'i8': return String(view.getInt8(at));
    // Ingest reads published layouts (runtime's ManifestCache), where every stack is text: a raw one is a bug here.
    case 'kstack':
    case 'ustack': throw new Error(`field ${f.name} is a raw stack: ingest must read the published layout (publishedManifest)`);
  }
}

/** A numeric field as Int64 bytes: 8-byte fields copied, smaller ones sign- or zero-extended. */
function writeInt64(w: RowBinaryWriter, view: DataView, bytes: Uint8Array, base: number, f: LayoutField): void {
  const at = base + f.offset;
  if (f.size === 8) return w.copy(bytes, at, 8);
  let v: number;
  switch (f.type) {
    case 'u32': v = view.getUint32(at, true); break;
    case 'i32': v = view.getInt32(at, true); break;
    case 'u16': v = view.getUint16(at, true); break;
    case 'i16': v = view.getInt16(at, true); break;
    case 'u8': v = view.getUint8(at); break;
    default: v = view.getInt8(at); break;
  }
  w.u32(v >>> 0);
  w.u32(v < 0 ? 0xffffffff : 0);
}

/** The columns every row of a batch repeats, in RowBinary form, written once per batch. */
function batchConstants(header: ScannedBatch['header']): { identity: Buffer; bundle: Buffer; clock: Buffer } {
  const clock = Buffer.alloc(16);
  clock.writeBigInt64LE(BigInt(header.clock.offsetNs), 0);
  clock.writeBigUInt64LE(BigInt(header.clock.uncertaintyNs), 8);
  return { identity: Buffer.concat([encodeString(header.deploymentId), encodeString(header.hostId), encodeString(header.bootId)]), bundle: encodeString(header.bundleId), clock };
}

/** What encode() did with a batch: rows written, and the records that fit no layout (left out). */
export interface EncodedBatch {
  written: number;
  misfits: Misfit[];
}

/**
 * Writes a batch's events as probe_events rows, decoding each record with its bundle's
 * layouts. A record that fits no layout (schemas' fitBatch) is left out and returned for the
 * caller to dead-letter; the batch's other records are written. Works on the scanned batch
 * (offsets into the message's bytes): no object, view, BigInt or string per row except a txn
 * key's text.
 */
export class EventRowEncoder {
  private readonly plans = new Map<string, { layouts: EventLayouts; byId: Map<number, EventPlan> }>();

  private plansFor(manifest: BundleManifest): { layouts: EventLayouts; byId: Map<number, EventPlan> } {
    let p = this.plans.get(manifest.bundleId);
    if (!p) {
      p = { layouts: EventLayouts.of(manifest), byId: new Map(manifest.events.map((e) => [e.id, plan(e)])) };
      this.plans.set(manifest.bundleId, p);
    }
    return p;
  }

  /** Each record's layout, and the records that fit none (schemas' fitBatch, with this bundle's layouts made once). */
  fit(batch: ScannedBatch, manifest: BundleManifest): BatchFit {
    return fitBatch(batch, this.plansFor(manifest).layouts);
  }

  /**
   * Encodes the batch's rows (those that fit a layout and whose sequence is not in `skip`). Each
   * row goes to `writerFor(its transaction key)`: one writer, or one per shard (shard-routing.ts).
   */
  encode(batch: ScannedBatch, manifest: BundleManifest, writerFor: (txn: string) => RowBinaryWriter, skip?: ReadonlySet<number>, fit = this.fit(batch, manifest)): EncodedBatch {
    const { header, view, at } = batch;
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const { byId } = this.plansFor(manifest);
    const { identity, bundle, clock } = batchConstants(header);
    let written = 0;
    for (let i = 0; i < at.length; i++) {
      const layout = fit.layouts[i];
      if (!layout || skip?.has(header.firstSeq + i)) continue;
      written++;
      const p = byId.get(layout.id)!;
      const base = at[i]!;
      const txn = p.txn ? fieldText(view, base, p.txn) : '';
      const w = writerFor(txn);
      // Wall-clock ns sit in the 8 bytes before the record: copied as they are into ts_ns.
      const wallNs = view.getUint32(base - 4, true) * 0x1_0000_0000 + view.getUint32(base - 8, true);
      w.date(Math.floor(wallNs / NS_PER_DAY));
      w.copy(bytes, base - 8, 8);
      w.encoded(identity);
      w.u64n(header.firstSeq + i);
      w.encoded(bundle);
      w.encoded(p.probeAndName);
      w.u32(view.getUint32(base + PREFIX_FIELD.pid.offset, true));
      w.u32(view.getUint32(base + PREFIX_FIELD.tid.offset, true));
      w.u16(view.getUint32(base + PREFIX_FIELD.cpu.offset, true));
      w.cString(bytes, base + PREFIX_FIELD.comm.offset, PREFIX_FIELD.comm.size);
      w.string(txn);
      if (p.latency) writeInt64(w, view, bytes, base, p.latency);
      else w.zeros(8);
      w.encoded(clock);
      for (const f of p.numeric) f ? writeInt64(w, view, bytes, base, f) : w.zeros(8);
      for (const f of p.strings) f ? w.cString(bytes, base + f.offset, f.size) : w.u8(0);
      w.encoded(p.extraNames);
      if (p.extra.length) w.stringArray(p.extra.map((f) => fieldText(view, base, f)));
      else w.u8(0);
      w.endRow();
    }
    return { written, misfits: fit.misfits };
  }
}
