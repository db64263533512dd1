import { EventLayouts, fitBatch, LAST_STORABLE_DAY, latencyField, PREFIX_FIELD, type BatchFit, type BundleManifest, type EventLayout, type LayoutField, type Misfit, type ScannedBatch } from '@tapfleet/schemas';
import { writeI64Decimal, writeSafeDecimal, writeU64Decimal } from './decimal-digits.js';
import { NUMERIC_SLOTS, PROBE_EVENT_COLUMNS, PROBE_EVENT_TYPES, slotFields, STRING_SLOTS } from './event-slots.js';
import { lebString, NativeBlock, type ColumnBytes } from './native-block.js';

const NS_PER_DAY = 86_400e9;
const TWO_32 = 0x1_0000_0000;

/** Column indices in PROBE_EVENT_COLUMNS order. */
const col = (name: string): number => {
  const i = PROBE_EVENT_COLUMNS.indexOf(name as (typeof PROBE_EVENT_COLUMNS)[number]);
  if (i < 0) throw new Error(`probe_events has no insert column ${name}`);
  return i;
};
const C = {
  date: col('date'), ts_ns: col('ts_ns'), deployment: col('deployment'), host: col('host'), boot_id: col('boot_id'), seq: col('seq'), bundle: col('bundle'),
  probe: col('probe'), event: col('event'), pid: col('pid'), tid: col('tid'), cpu: col('cpu'), comm: col('comm'), txn: col('txn'), latency_ns: col('latency_ns'),
  clock_offset_ns: col('clock_offset_ns'), clock_uncertainty_ns: col('clock_uncertainty_ns'), n0: col('n0'), s0: col('s0'), extra_names: col('extra_names'), extra_values: col('extra_values'),
};

/** An empty block of probe_events columns, to be filled by EventRowEncoder.encode and sent by insertEventRows. */
export const newEventBlock = (): NativeBlock => new NativeBlock(PROBE_EVENT_COLUMNS.map((name) => ({ name, type: PROBE_EVENT_TYPES[name]! })));

interface EventPlan {
  layout: EventLayout;
  /** probe and event as String values, the same on every row of the event. */
  probe: Buffer;
  event: Buffer;
  numeric: (LayoutField | undefined)[];
  strings: (LayoutField | undefined)[];
  extra: LayoutField[];
  /** extra_names' elements of one row (the same on every row of the event). */
  extraNames: Buffer;
  txn?: LayoutField;
  latency?: LayoutField;
}

function plan(layout: EventLayout): EventPlan {
  const slotted = slotFields(layout);
  const byName = new Map(layout.fields.map((f) => [f.name, f]));
  const extra = slotted.filter((f) => f.slot === 'extra');
  return {
    layout,
    probe: lebString((layout.probes ?? []).join(', ')),
    event: lebString(layout.name),
    numeric: Array.from({ length: NUMERIC_SLOTS }, (_, i) => slotted.find((f) => f.slot === `n${i}`)),
    strings: Array.from({ length: STRING_SLOTS }, (_, i) => slotted.find((f) => f.slot === `s${i}`)),
    extra,
    extraNames: Buffer.concat(extra.map((f) => lebString(f.name))),
    ...(layout.txnField ? { txn: byName.get(layout.txnField)! } : {}),
    ...(latencyField(layout) ? { latency: latencyField(layout)! } : {}),
  };
}

const u32At = (b: Uint8Array, at: number) => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const i32At = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);

function copy8(dst: Uint8Array, d: number, src: Uint8Array, s: number): void {
  dst[d] = src[s]!;
  dst[d + 1] = src[s + 1]!;
  dst[d + 2] = src[s + 2]!;
  dst[d + 3] = src[s + 3]!;
  dst[d + 4] = src[s + 4]!;
  dst[d + 5] = src[s + 5]!;
  dst[d + 6] = src[s + 6]!;
  dst[d + 7] = src[s + 7]!;
}

/** A numeric field's value as a JS number (fields up to 4 bytes), sign- or zero-extended by its type. */
function smallInt(b: Uint8Array, at: number, f: LayoutField): number {
  switch (f.type) {
    case 'u32': return u32At(b, at);
    case 'i32': return i32At(b, at);
    case 'u16': return b[at]! | (b[at + 1]! << 8);
    case 'i16': return ((b[at]! | (b[at + 1]! << 8)) << 16) >> 16;
    case 'u8': return b[at]!;
    default: return (b[at]! << 24) >> 24;
  }
}

/**
 * A field's text (transaction keys, extra values) written as a String value's bytes at buf[at..]
 * (no length): strings up to their NUL as stored, numbers in decimal. Returns the end; the caller
 * reserved f.size + 21 bytes.
 */
function writeFieldText(buf: Uint8Array, at: number, src: Uint8Array, base: number, f: LayoutField): number {
  const s = base + f.offset;
  switch (f.type) {
    case 'str': {
      let end = s;
      const max = s + f.size;
      while (end < max && src[end] !== 0) buf[at++] = src[end++]!;
      return at;
    }
    case 'u64': return writeU64Decimal(buf, at, u32At(src, s), u32At(src, s + 4));
    case 'i64': return writeI64Decimal(buf, at, u32At(src, s), i32At(src, s + 4));
    case 'kstack':
    case 'ustack':
    case 'ksym':
    case 'usym': throw new Error(`field ${f.name} is a raw stack: ingest must read the published layout (publishedManifest)`);
    default: return writeSafeDecimal(buf, at, smallInt(src, s, f));
  }
}

/** A String column value holding a field's text: varint length, then the text (at most 21 + size bytes, so one length byte up to 106). */
function fieldTextValue(col: ColumnBytes, src: Uint8Array, base: number, f: LayoutField): void {
  col.reserve(f.size + 26);
  const buf = col.buf;
  if (f.size + 21 < 0x80) {
    const end = writeFieldText(buf, col.at + 1, src, base, f);
    buf[col.at] = end - col.at - 1;
    col.at = end;
    return;
  }
  // Longer strings: write the text after a 5-byte gap, then move it back behind its real length prefix.
  const start = col.at + 5;
  const end = writeFieldText(buf, start, src, base, f);
  col.leb128(end - start);
  buf.copy(buf, col.at, start, end);
  col.at += end - start;
}

/** A NUL-terminated C string field as a String value (bytes up to the first NUL). */
function cStringValue(col: ColumnBytes, src: Uint8Array, at: number, size: number): void {
  let end = at;
  const max = at + size;
  while (end < max && src[end] !== 0) end++;
  col.string(src, at, end);
}

/** A numeric field as Int64 bytes: 8-byte fields copied, smaller ones sign- or zero-extended. */
function int64Column(col: ColumnBytes, src: Uint8Array, bases: ArrayLike<number>, idx: Int32Array, f: LayoutField): void {
  const m = idx.length;
  col.reserve(8 * m);
  const buf = col.buf;
  let at = col.at;
  if (f.size === 8) {
    for (let r = 0; r < m; r++, at += 8) copy8(buf, at, src, bases[idx[r]!]! + f.offset);
  } else {
    for (let r = 0; r < m; r++, at += 8) {
      const v = smallInt(src, bases[idx[r]!]! + f.offset, f);
      buf.writeInt32LE(v | 0, at);
      buf.writeInt32LE(v < 0 ? -1 : 0, at + 4);
    }
  }
  col.at = at;
}

/** The values every row of a batch repeats, in column form, made once per batch. */
interface BatchConstants {
  deployment: Buffer;
  host: Buffer;
  boot: Buffer;
  bundle: Buffer;
  clockOffset: Buffer;
  clockUncertainty: Buffer;
}

function batchConstants(header: ScannedBatch['header']): BatchConstants {
  const clockOffset = Buffer.alloc(8);
  clockOffset.writeBigInt64LE(BigInt(header.clock.offsetNs));
  const clockUncertainty = Buffer.alloc(8);
  clockUncertainty.writeBigUInt64LE(BigInt(header.clock.uncertaintyNs));
  return { deployment: lebString(header.deploymentId), host: lebString(header.hostId), boot: lebString(header.bootId), bundle: lebString(header.bundleId), clockOffset, clockUncertainty };
}

/** What encode() did with a batch: rows written, and the records that fit no layout (left out). */
export interface EncodedBatch {
  written: number;
  misfits: Misfit[];
}

/**
 * Which block (shard) a row goes to, by its placement key's bytes (the transaction key's text,
 * else the host): absent when there is one block.
 */
export type ShardOfKey = (key: Uint8Array, start: number, end: number) => number;

/**
 * Writes a batch's events as probe_events rows into Native blocks, decoding each record with its
 * bundle's layouts. A record that fits no layout (schemas' fitBatch) is left out and returned for
 * the caller to dead-letter; the batch's other records are written. Rows of one event and one block
 * are written column by column: a value every such row shares (deployment, host, bundle, probe,
 * event, clock, an empty slot) is one native fill, and the rest are byte copies from the batch (a
 * numeric transaction key is written as decimal digits straight into the txn column): no object,
 * string or BigInt per row.
 */
export class EventRowEncoder {
  private readonly plans = new Map<string, { layouts: EventLayouts; byId: Map<number, EventPlan> }>();
  /** Scratch for a row's placement key (shards): the longest text a field gives. */
  private keyScratch = new Uint8Array(64);

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
   * Encodes the batch's rows (those that fit a layout and whose sequence is not in `skip`) into
   * `blocks`: all into blocks[0], or with `shardOf` each into its shard's block.
   */
  encode(batch: ScannedBatch, manifest: BundleManifest, blocks: readonly NativeBlock[], shardOf?: ShardOfKey, skip?: ReadonlySet<number>, fit = this.fit(batch, manifest)): EncodedBatch {
    const { header, view, at } = batch;
    const src = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const { byId } = this.plansFor(manifest);
    const sharded = blocks.length > 1 && shardOf !== undefined;
    const hostKey = sharded ? Buffer.from(header.hostId, 'utf8') : undefined;
    const hostShard = hostKey ? shardOf!(hostKey, 0, hostKey.length) : 0;
    // Rows grouped by (block, event): usually one group, the whole batch.
    const groups = new Map<number, { block: number; plan: EventPlan; rows: number[] }>();
    let written = 0;
    for (let i = 0; i < at.length; i++) {
      const layout = fit.layouts[i];
      if (!layout || skip?.has(header.firstSeq + i)) continue;
      written++;
      const p = byId.get(layout.id)!;
      const block = sharded ? this.shardOfRow(src, at[i]!, p, hostShard, shardOf!) : 0;
      const key = block * 0x1_0000 + layout.id;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { block, plan: p, rows: [] }));
      g.rows.push(i);
    }
    if (!groups.size) return { written, misfits: fit.misfits };
    const constants = batchConstants(header);
    for (const g of groups.values()) encodeRows(blocks[g.block]!, g.plan, src, batch, Int32Array.from(g.rows), constants);
    return { written, misfits: fit.misfits };
  }

  /** The shard of a row: by its transaction key's text when it has a non-empty one, else its host's. */
  private shardOfRow(src: Uint8Array, base: number, p: EventPlan, hostShard: number, shardOf: ShardOfKey): number {
    if (!p.txn) return hostShard;
    if (this.keyScratch.length < p.txn.size + 21) this.keyScratch = new Uint8Array(p.txn.size + 21);
    const end = writeFieldText(this.keyScratch, 0, src, base, p.txn);
    return end === 0 ? hostShard : shardOf(this.keyScratch, 0, end);
  }
}

/** Rows `idx` of a batch, all of event `p`, appended to `block` column by column. */
function encodeRows(block: NativeBlock, p: EventPlan, src: Uint8Array, batch: ScannedBatch, idx: Int32Array, k: BatchConstants): void {
  const m = idx.length;
  const bases = batch.at;
  const firstSeq = batch.header.firstSeq;
  const column = (c: number, part = 0) => block.data[c]![part]!;

  // date and ts_ns: the wall-clock ns sit in the 8 bytes before the record, copied as they are into ts_ns.
  const date = column(C.date);
  const ts = column(C.ts_ns);
  date.reserve(2 * m);
  ts.reserve(8 * m);
  for (let r = 0; r < m; r++) {
    const wall = bases[idx[r]!]! - 8;
    // Clamped as storableDay clamps (schemas' storable-day.ts says why); ts_ns keeps the exact time.
    const days = Math.min(Math.floor((u32At(src, wall + 4) * TWO_32 + u32At(src, wall)) / NS_PER_DAY), LAST_STORABLE_DAY);
    date.buf[date.at++] = days & 0xff;
    date.buf[date.at++] = days >>> 8;
    copy8(ts.buf, ts.at, src, wall);
    ts.at += 8;
  }
  column(C.deployment).repeat(k.deployment, m);
  column(C.host).repeat(k.host, m);
  column(C.boot_id).repeat(k.boot, m);
  const seq = column(C.seq);
  seq.reserve(8 * m);
  for (let r = 0; r < m; r++, seq.at += 8) {
    const v = firstSeq + idx[r]!;
    seq.buf.writeUInt32LE(v >>> 0, seq.at);
    seq.buf.writeUInt32LE(Math.floor(v / TWO_32), seq.at + 4);
  }
  column(C.bundle).repeat(k.bundle, m);
  column(C.probe).repeat(p.probe, m);
  column(C.event).repeat(p.event, m);
  // pid, tid (u32) and cpu (its low 16 bits: a u32 in the prefix, UInt16 in the table) copied as stored.
  for (const [c, off, n] of [[C.pid, PREFIX_FIELD.pid.offset, 4], [C.tid, PREFIX_FIELD.tid.offset, 4], [C.cpu, PREFIX_FIELD.cpu.offset, 2]] as const) {
    const out = column(c);
    out.reserve(n * m);
    for (let r = 0; r < m; r++) {
      const s = bases[idx[r]!]! + off;
      for (let b = 0; b < n; b++) out.buf[out.at++] = src[s + b]!;
    }
  }
  const comm = column(C.comm);
  for (let r = 0; r < m; r++) cStringValue(comm, src, bases[idx[r]!]! + PREFIX_FIELD.comm.offset, PREFIX_FIELD.comm.size);
  const txn = column(C.txn);
  if (p.txn) for (let r = 0; r < m; r++) fieldTextValue(txn, src, bases[idx[r]!]!, p.txn);
  else txn.zeros(m);
  if (p.latency) int64Column(column(C.latency_ns), src, bases, idx, p.latency);
  else column(C.latency_ns).zeros(8 * m);
  column(C.clock_offset_ns).repeat(k.clockOffset, m);
  column(C.clock_uncertainty_ns).repeat(k.clockUncertainty, m);
  p.numeric.forEach((f, n) => (f ? int64Column(column(C.n0 + n), src, bases, idx, f) : column(C.n0 + n).zeros(8 * m)));
  p.strings.forEach((f, n) => {
    const out = column(C.s0 + n);
    if (!f) return out.zeros(m);
    for (let r = 0; r < m; r++) cStringValue(out, src, bases[idx[r]!]! + f.offset, f.size);
  });
  // extra_names and extra_values: Array(String) each, the same number of elements per row.
  const namesOffsets = column(C.extra_names, 0);
  const valuesOffsets = column(C.extra_values, 0);
  const before = block.rows === 0 ? 0 : Number(namesOffsets.buf.readBigUInt64LE(namesOffsets.at - 8));
  const perRow = p.extra.length;
  namesOffsets.reserve(8 * m);
  valuesOffsets.reserve(8 * m);
  for (let r = 1; r <= m; r++) {
    const total = before + r * perRow;
    namesOffsets.buf.writeUInt32LE(total >>> 0, namesOffsets.at);
    namesOffsets.buf.writeUInt32LE(Math.floor(total / TWO_32), namesOffsets.at + 4);
    namesOffsets.at += 8;
  }
  valuesOffsets.buf.set(namesOffsets.buf.subarray(namesOffsets.at - 8 * m, namesOffsets.at), valuesOffsets.at);
  valuesOffsets.at += 8 * m;
  if (perRow) {
    column(C.extra_names, 1).repeat(p.extraNames, m);
    const values = column(C.extra_values, 1);
    for (let r = 0; r < m; r++) for (const f of p.extra) fieldTextValue(values, src, bases[idx[r]!]!, f);
  }
  block.rows += m;
}
