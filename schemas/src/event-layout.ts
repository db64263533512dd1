import { z } from 'zod/v3';
import { STRFTIME_FORMAT_MAX } from './strftime.js';

/**
 * The one description of an emitted event's binary layout. The compiler writes it;
 * the generated C struct, the bundle manifest, the agent's decoder and the
 * ClickHouse columns are all derived from it. Nothing else may restate a layout.
 */
export const FieldType = z.enum(['u8', 'u16', 'u32', 'u64', 'i8', 'i16', 'i32', 'i64', 'str', 'kstack', 'ustack', 'ksym', 'usym']);
export type FieldType = z.infer<typeof FieldType>;
/**
 * An address the probe wrote with ksym(addr) or usym(addr): 8 bytes, named on the host that
 * took it (kernel symbols from kallsyms, user ones through the record's process), as bpftrace
 * prints it (the symbol without an offset, or 0x-hex when none holds it). Like a stack, it
 * never leaves the host as an address: published records carry its name (publishedLayout).
 */
export type SymbolFieldType = Extract<FieldType, 'ksym' | 'usym'>;
export const isSymbolField = (f: Pick<LayoutField, 'type'>): f is LayoutField & { type: SymbolFieldType } => f.type === 'ksym' || f.type === 'usym';
/** A strftime(FORMAT, ns) value: CLOCK_MONOTONIC ns of the host that took it, printed as its local wall time. */
export const isTimeField = (f: Pick<LayoutField, 'strftime'>): boolean => f.strftime !== undefined;
/**
 * A field only the host that took it can read (a stack, a symbol, a strftime() time): last in
 * the record, published as text.
 */
export const isHostField = (f: Pick<LayoutField, 'type' | 'strftime'>): boolean => isStackField(f) || isSymbolField(f) || isTimeField(f);
/** Bytes of the text a symbol field is published as (a name past it is cut). */
export const SYMBOL_TEXT_SIZE = 256;
/** Bytes of the text a strftime() time is published as (a format's text past it is cut). */
export const TIME_TEXT_SIZE = 128;
/**
 * A stack the probe copied into its record with bpf_get_stack(): an i64 (the bytes copied, or
 * a negative errno) then `depth` u64 instruction pointers, leaf first. Only the host that took
 * it can name its frames, so it never leaves the host as addresses: published records carry
 * its symbolised text instead (publishedLayout).
 */
export type StackFieldType = Extract<FieldType, 'kstack' | 'ustack'>;
export const isStackField = (f: Pick<LayoutField, 'type'>): f is LayoutField & { type: StackFieldType } => f.type === 'kstack' || f.type === 'ustack';
/** Bytes of a stack field of `depth` frames: the i64 length word, then the frames. */
export const stackFieldSize = (depth: number) => 8 + 8 * depth;
/** The most frames a stack field holds (perf_event_max_stack's default, as for stack keys). */
export const MAX_STACK_FIELD_DEPTH = 127;
/**
 * Bytes of the text a stack field is published as: 64 a frame (a kernel frame such as
 * `entry_SYSCALL_64_after_hwframe+0x76` is ~40), at most 4 KiB. Text past it is cut at a
 * whole frame; the cut is marked (STACK_TEXT_CUT).
 */
export const stackTextSize = (depth: number) => Math.min(64 * depth, 4096);
export const STACK_TEXT_CUT = '[more frames]';

export const FIELD_TYPE_SIZE: Record<Exclude<FieldType, 'str' | StackFieldType | SymbolFieldType>, number> = {
  u8: 1, u16: 2, u32: 4, u64: 8, i8: 1, i16: 2, i32: 4, i64: 8,
};
/** An integer field (not a string, not a stack, symbol or strftime() time). */
export const isIntField = (f: Pick<LayoutField, 'type' | 'strftime'>): boolean => f.type !== 'str' && !isHostField(f);

export const LayoutField = z
  .object({
    name: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected a lower-case identifier'),
    type: FieldType,
    offset: z.number().int().safe().nonnegative(),
    /**
     * Bytes occupied; for `str` the fixed buffer length (NUL-terminated inside it: at most 256,
     * or stackTextSize() for a published stack), for a stack stackFieldSize(depth).
     */
    size: z.number().int().safe().positive().max(4096),
    /** On a `str` of a published layout: the stack whose symbolised frames it holds, one a line, leaf first. */
    stack: z.enum(['kstack', 'ustack']).optional(),
    /**
     * On a u64/i64 printf() argument written as strftime(FORMAT, nsecs): the strftime(3) format
     * it prints with, the value being CLOCK_MONOTONIC ns (bpftrace's nsecs) turned into local wall time.
     */
    strftime: z.string().max(STRFTIME_FORMAT_MAX).optional(),
  })
  .superRefine((f, ctx) => {
    if (f.stack !== undefined && f.type !== 'str') ctx.addIssue({ code: 'custom', path: ['stack'], message: 'only a published string field holds a stack\'s text' });
    if (f.strftime !== undefined && f.type !== 'u64' && f.type !== 'i64') ctx.addIssue({ code: 'custom', path: ['strftime'], message: 'only a 64-bit integer field holds a strftime() time' });
    if (f.type === 'ksym' || f.type === 'usym') {
      if (f.size !== 8) ctx.addIssue({ code: 'custom', path: ['size'], message: `a ${f.type} field is 8 bytes` });
      if (f.offset % 8 !== 0) ctx.addIssue({ code: 'custom', path: ['offset'], message: `a ${f.type} field must be 8-byte aligned` });
      return;
    }
    if (f.type === 'str' && f.stack === undefined && f.size > 256) ctx.addIssue({ code: 'custom', path: ['size'], message: 'a string field holds at most 256 bytes' });
    if (f.type === 'kstack' || f.type === 'ustack') {
      const depth = (f.size - 8) / 8;
      if (!Number.isInteger(depth) || depth < 1 || depth > MAX_STACK_FIELD_DEPTH)
        ctx.addIssue({ code: 'custom', path: ['size'], message: `a ${f.type} field is 8 bytes plus 8 a frame, 1 to ${MAX_STACK_FIELD_DEPTH} frames` });
      if (f.offset % 8 !== 0) ctx.addIssue({ code: 'custom', path: ['offset'], message: `a ${f.type} field must be 8-byte aligned` });
      return;
    }
    if (f.type !== 'str' && FIELD_TYPE_SIZE[f.type] !== f.size)
      ctx.addIssue({ code: 'custom', path: ['size'], message: `a ${f.type} field is ${FIELD_TYPE_SIZE[f.type]} bytes` });
    if (f.type !== 'str' && f.offset % f.size !== 0)
      ctx.addIssue({ code: 'custom', path: ['offset'], message: `a ${f.type} field must be ${f.size}-byte aligned` });
  });
export type LayoutField = z.infer<typeof LayoutField>;

/**
 * Every event record starts with this fixed prefix, written by generated code,
 * so decoders find the event id, the task and the kernel time without the layout.
 */
export const EVENT_PREFIX: readonly LayoutField[] = [
  { name: 'event_id', type: 'u32', offset: 0, size: 4 },
  { name: 'cpu', type: 'u32', offset: 4, size: 4 },
  { name: 'pid', type: 'u32', offset: 8, size: 4 },
  { name: 'tid', type: 'u32', offset: 12, size: 4 },
  { name: 'ktime_ns', type: 'u64', offset: 16, size: 8 },
  { name: 'comm', type: 'str', offset: 24, size: 16 },
];
export const EVENT_PREFIX_SIZE = 40;

/** The prefix fields by name, for decoders that read one or two of them without the layout. */
export const PREFIX_FIELD = Object.fromEntries(EVENT_PREFIX.map((f) => [f.name, f])) as Record<'event_id' | 'cpu' | 'pid' | 'tid' | 'ktime_ns' | 'comm', LayoutField>;

export const EventLayout = z
  .object({
    /** Index written into `event_id`; unique within a bundle. */
    id: z.number().int().safe().nonnegative().max(0xffff),
    name: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected a lower-case identifier'),
    /** Total record size including the prefix, a multiple of 8. */
    size: z.number().int().safe().positive(),
    /** User fields only (the prefix is implied), in offset order. */
    fields: z.array(LayoutField),
    /** Name of the field holding the transaction key, if the event has one. */
    txnField: z.string().optional(),
    /** The probe points (as written in the script) whose bodies emit this event. */
    probes: z.array(z.string()).optional(),
    /**
     * Set when the record comes from a call rather than an `emit`: a printf() call site (its
     * format, and the fields holding its arguments in argument order) or exit().
     */
    call: z
      .discriminatedUnion('fn', [
        z.object({ fn: z.literal('printf'), format: z.string().max(1024), args: z.array(z.string()) }),
        z.object({ fn: z.literal('exit') }),
      ])
      .optional(),
  })
  .superRefine((layout, ctx) => {
    if (layout.size % 8 !== 0) ctx.addIssue({ code: 'custom', path: ['size'], message: 'record size must be a multiple of 8' });
    let end = EVENT_PREFIX_SIZE;
    const seen = new Set<string>(EVENT_PREFIX.map((f) => f.name));
    let stackSeen = false;
    layout.fields.forEach((f, i) => {
      // Stacks and symbols last: publishedLayout swaps them for text without moving any other field.
      if (isHostField(f)) stackSeen = true;
      else if (stackSeen) ctx.addIssue({ code: 'custom', path: ['fields', i], message: 'stack, symbol and strftime() fields come after every other field' });
      if (seen.has(f.name)) ctx.addIssue({ code: 'custom', path: ['fields', i, 'name'], message: `duplicate or reserved field name "${f.name}"` });
      seen.add(f.name);
      if (f.offset < end) ctx.addIssue({ code: 'custom', path: ['fields', i, 'offset'], message: `overlaps the previous field (ends at ${end})` });
      end = f.offset + f.size;
    });
    if (end > layout.size) ctx.addIssue({ code: 'custom', path: ['size'], message: `fields end at ${end}, past the record size` });
    if (layout.txnField !== undefined && !layout.fields.some((f) => f.name === layout.txnField))
      ctx.addIssue({ code: 'custom', path: ['txnField'], message: `no field named "${layout.txnField}"` });
    if (layout.call?.fn === 'printf')
      layout.call.args.forEach((name, i) => {
        if (!layout.fields.some((f) => f.name === name)) ctx.addIssue({ code: 'custom', path: ['call', 'args', i], message: `no field named "${name}"` });
      });
  });
export type EventLayout = z.infer<typeof EventLayout>;

export type FieldValue = number | bigint | string;
export type DecodedEvent = Record<string, FieldValue>;

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** One field of the record that starts at `base` in `view`, read as its layout says. */
export function readField(view: DataView, base: number, f: LayoutField): FieldValue {
  const at = base + f.offset;
  switch (f.type) {
    case 'u8': return view.getUint8(at);
    case 'i8': return view.getInt8(at);
    case 'u16': return view.getUint16(at, true);
    case 'i16': return view.getInt16(at, true);
    case 'u32': return view.getUint32(at, true);
    case 'i32': return view.getInt32(at, true);
    case 'u64': return view.getBigUint64(at, true);
    case 'i64': return view.getBigInt64(at, true);
    case 'str': {
      const bytes = new Uint8Array(view.buffer, view.byteOffset + at, f.size);
      const nul = bytes.indexOf(0);
      return utf8.decode(nul === -1 ? bytes : bytes.subarray(0, nul));
    }
    // Addresses only: a reader on the host that took the stack names them (agents/runner's EventStacks).
    case 'kstack':
    case 'ustack': {
      const { frames, error } = readStack(view, base, f);
      return error ? `[stack lost: errno ${error}]` : frames.map((ip) => `0x${ip.toString(16)}`).join('\n');
    }
    case 'ksym':
    case 'usym': return `0x${view.getBigUint64(at, true).toString(16)}`;
  }
}

/**
 * The raw stack of a stack field: its frames leaf first, or the errno bpf_get_stack() gave
 * (EFAULT, for one: a kernel stack of a sample taken in user mode).
 */
export function readStack(view: DataView, base: number, f: LayoutField): { frames: bigint[]; error: number } {
  const bytes = Number(view.getBigInt64(base + f.offset, true));
  if (bytes < 0) return { frames: [], error: -bytes };
  const frames: bigint[] = [];
  const n = Math.min(Math.floor(bytes / 8), (f.size - 8) / 8);
  for (let i = 0; i < n; i++) frames.push(view.getBigUint64(base + f.offset + 8 + 8 * i, true));
  return { frames, error: 0 };
}

/**
 * The layout of an event as agents publish it: each stack field (last in the record) becomes
 * a string of its symbolised frames, one a line, leaf first, stackTextSize() bytes; every
 * other field keeps its offset. Ingest, the assembler and the query service read published
 * batches, so they read this layout; the same layout when the event has no stack.
 */
export function publishedLayout(layout: EventLayout): EventLayout {
  if (!layout.fields.some(isHostField)) return layout;
  let at = 0;
  const fields = layout.fields.map((f): LayoutField => {
    if (!isHostField(f)) return f;
    at ||= f.offset;
    const out: LayoutField = isStackField(f)
      ? { name: f.name, type: 'str', offset: at, size: stackTextSize((f.size - 8) / 8), stack: f.type }
      : { name: f.name, type: 'str', offset: at, size: isTimeField(f) ? TIME_TEXT_SIZE : SYMBOL_TEXT_SIZE };
    at += out.size;
    return out;
  });
  return { ...layout, size: Math.ceil(at / 8) * 8, fields };
}

const stackEncoder = new TextEncoder();

/**
 * Frames (one a line, leaf first) written as a published stack field: NUL-terminated, cut at a
 * whole frame (marked STACK_TEXT_CUT) when the text does not fit.
 */
export function writeStackText(out: Uint8Array, at: number, size: number, text: string): void {
  out.fill(0, at, at + size);
  // The common case in one pass: the whole text fits, a NUL after it.
  if (stackEncoder.encodeInto(text, out.subarray(at, at + size - 1)).read === text.length) return;
  out.fill(0, at, at + size);
  const room = size - 1 - (STACK_TEXT_CUT.length + 1);
  const bytes = stackEncoder.encode(text);
  const nl = bytes.subarray(0, room + 1).lastIndexOf(0x0a);
  const kept = nl > 0 ? bytes.subarray(0, nl + 1) : new Uint8Array(0);
  out.set(kept, at);
  stackEncoder.encodeInto(STACK_TEXT_CUT, out.subarray(at + kept.length, at + size - 1));
}

/** A symbol's name (or a strftime() time's text) written as a published field: NUL-terminated, cut at a whole character. */
export function writeSymbolText(out: Uint8Array, at: number, size: number, text: string): void {
  out.fill(0, at, at + size);
  stackEncoder.encodeInto(text, out.subarray(at, at + size - 1));
}

/** Decodes one record (prefix plus the layout's fields) that starts at `base` in `view`. */
export function decodeRecord(view: DataView, base: number, layout: EventLayout): DecodedEvent {
  const out: DecodedEvent = {};
  for (const f of EVENT_PREFIX) out[f.name] = readField(view, base, f);
  for (const f of layout.fields) out[f.name] = readField(view, base, f);
  return out;
}

/** Reads the event id of the record at `base` without decoding it. */
export const recordEventId = (view: DataView, base: number): number => view.getUint32(base, true);

/**
 * The field that carries an event's own duration: one named latency or latency_ns (what
 * `emit x { latency: latency }` produces). The latency rollup and the assembler's per-event
 * spans both read it through this one rule.
 */
export const isLatencyField = (f: LayoutField): boolean => isIntField(f) && (f.name === 'latency' || f.name === 'latency_ns');
export const latencyField = (layout: EventLayout): LayoutField | undefined => layout.fields.find(isLatencyField);
