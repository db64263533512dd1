import { z } from 'zod/v3';
import { TxnShape } from './transaction.js';
import { BuildId, Sha256Hex } from './common.js';
import { EventLayout, isHostField, publishedLayout } from './event-layout.js';
import { STRFTIME_FORMAT_MAX } from './strftime.js';

/** `@name`, or `@` alone (the anonymous map). */
const MapName = z.string().regex(/^@([A-Za-z_][A-Za-z0-9_]*)?$/);
/** What a begin/end/interval probe does, in order: print or clear a map, print a printf() line its program sent, or end the run. */
export const UserAction = z.discriminatedUnion('op', [
  /** print(@m[, top[, div]]): `top` the largest entries only, values divided by `div` (bpftrace's arguments). */
  z.object({ op: z.literal('print'), map: MapName, top: z.number().int().safe().min(1).max(100_000).optional(), div: z.number().int().safe().min(2).max(Number.MAX_SAFE_INTEGER).optional() }),
  z.object({ op: z.literal('clear'), map: MapName }),
  /**
   * printf(): the line of the record (an event layout's name, `printf_N`) the probe's program sent
   * at this firing; none when the call sat in an if that did not run.
   */
  z.object({ op: z.literal('printf'), record: z.string().regex(/^printf_[0-9]+$/) }),
  /** exit(): `tapfleet run` stops as at Ctrl-C (the compiler refuses it in a fleet deployment). */
  z.object({ op: z.literal('exit') }),
]);
export type UserAction = z.infer<typeof UserAction>;

/**
 * A user-side probe's map writes and printf() records, compiled as a BPF program that is run, never
 * attached: a `begin` probe's once after load and before any probe attaches (as bpftrace runs
 * BEGIN), an `end` or `interval` probe's at each firing, before its `actions` (print, clear, printf, exit).
 */
const UserSideProgram = z.string().regex(/^p[0-9]+_[0-9]+$/);

/** Where one BPF program attaches; the runner does exactly this and nothing else. */
export const AttachPoint = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tracepoint'), program: z.string(), category: z.string(), event: z.string() }),
  /** A raw tracepoint (syscall-entry probes attach to `sys_enter` and filter by number in the program). */
  z.object({ kind: z.literal('raw_tracepoint'), program: z.string(), name: z.string().regex(/^[a-z0-9_]+$/) }),
  z.object({
    kind: z.enum(['uprobe', 'uretprobe']),
    program: z.string(),
    binary: z.string().startsWith('/'),
    symbol: z.string(),
    /** File offset to attach at, resolved from the binary profile at compile time. */
    offset: z.number().int().safe().nonnegative(),
    /** File offset of a USDT semaphore the kernel counts up while this uprobe is attached. */
    refCtrOffset: z.number().int().safe().positive().optional(),
  }),
  z.object({
    kind: z.literal('usdt'),
    program: z.string(),
    binary: z.string().startsWith('/'),
    provider: z.string(),
    name: z.string(),
  }),
  /**
   * A sampling probe (`profile:hz:N`, `profile:us:N`): one software cpu-clock perf event per
   * online CPU, each running the program when it fires (no hardware PMU is needed).
   */
  z.object({
    kind: z.literal('perf_event'),
    program: z.string(),
    sample: z.union([z.object({ hz: z.number().int().safe().positive().max(100_000) }), z.object({ periodNs: z.number().int().safe().positive() })]),
  }),
  /** User-side probes: the runner's owner carries out their actions on a timer, at start, or at stop. */
  z.object({ kind: z.literal('interval'), periodNs: z.number().int().safe().positive(), actions: z.array(UserAction), kernel: UserSideProgram.optional() }),
  z.object({ kind: z.enum(['begin', 'end']), actions: z.array(UserAction), kernel: UserSideProgram.optional() }),
]);
export type AttachPoint = z.infer<typeof AttachPoint>;

export const AggregationKind = z.enum(['count', 'sum', 'min', 'max', 'avg', 'stats', 'hist', 'lhist']);
/** What a map holds: an aggregation (per-CPU, merged when read) or a value (`@m[k] = expr`: state shared by every CPU). */
export const MapKind = z.enum([...AggregationKind.options, 'value']);
export type MapKind = z.infer<typeof MapKind>;
/** A map name: `@name`, or `@` alone (bpftrace's anonymous map). */
export const MAP_NAME = /^@([A-Za-z_][A-Za-z0-9_]*)?$/;

/** A kernel map holding an aggregation or values, so snapshots can be decoded and merged fleet-wide. */
export const MapLayout = z.object({
  name: z.string().regex(MAP_NAME, 'expected @name'),
  kind: MapKind,
  /** A value map's value: a signed integer (8 bytes) or a NUL-terminated string of valueSize bytes. */
  valueType: z.enum(['i64', 'str']).optional(),
  /** Key fields (may be empty for a scalar aggregation). */
  keySize: z.number().int().safe().nonnegative(),
  /**
   * kstack/ustack: 8 bytes, a stack id of one of the bundle's `stacks` maps (and, for ustack, the tgid: see StackMap).
   * ksym: 8 bytes, a kernel address; usym: 16, a user address then its process's tgid (both named where the map is read).
   */
  keyFields: z.array(z.object({ name: z.string(), type: z.enum(['u64', 'i64', 'str', 'kstack', 'ustack', 'ksym', 'usym']), offset: z.number().int().safe().nonnegative(), size: z.number().int().safe().positive(),
    /** kstack/ustack: the bundle's stack map (`stacks`) the id is from. */
    stackMap: z.string().optional(),
    /** A u64 key written as strftime(FORMAT, ns): printed as that time where the map is read. */
    strftime: z.string().max(STRFTIME_FORMAT_MAX).optional() })),
  valueSize: z.number().int().safe().positive(),
  maxEntries: z.number().int().safe().positive(),
  lhist: z.object({ lo: z.number().int().safe(), hi: z.number().int().safe(), step: z.number().int().safe().positive() }).optional(),
});
export type MapLayout = z.infer<typeof MapLayout>;

/**
 * A BPF stack-trace map the programs store `kstack`/`ustack` into. A stack key field holds
 * (tgid << 32) | (u32)stack id, tgid 0 for a kernel stack; a negative 32-bit id is the
 * kernel's error (-EFAULT: no stack of that kind, -EEXIST/-ENOMEM: the map had no room).
 * Owners snapshot these maps first and symbolise on the host: addresses never leave it.
 */
export const StackMap = z.object({
  name: z.string().regex(/^tf_stack_[ku][0-9]+$/),
  user: z.boolean(),
  /** Frames kept (kstack(N)); the kernel's perf_event_max_stack (127) bounds it. */
  depth: z.number().int().safe().min(1).max(127),
  maxEntries: z.number().int().safe().positive(),
});
export type StackMap = z.infer<typeof StackMap>;

/** A stack key field's value split: the stack id (negative: the kernel's -errno) and, for ustack, the tgid. */
export function unpackStackKey(v: bigint): { tgid: number; stackId: number } {
  const u = BigInt.asUintN(64, v);
  return { tgid: Number(u >> 32n), stackId: Number(BigInt.asIntN(32, u & 0xffffffffn)) };
}

/** Key positions holding a symbolised stack (frames joined by newlines, leaf first), and whose. */
export const StackKey = z.object({ index: z.number().int().safe().nonnegative(), user: z.boolean() });
export type StackKey = z.infer<typeof StackKey>;

/** Whether a map has a ksym()/usym()/strftime() key: an address or a time only the host that read it can name. */
export const hasHostKey = (layout: Pick<MapLayout, 'keyFields'>): boolean => layout.keyFields.some((f) => f.type === 'ksym' || f.type === 'usym' || f.strftime !== undefined);

/** The key fields of a map that hold stacks. */
export const stackKeysOf = (layout: Pick<MapLayout, 'keyFields'>): StackKey[] =>
  layout.keyFields.flatMap((f, index) => (f.type === 'kstack' || f.type === 'ustack' ? [{ index, user: f.type === 'ustack' }] : []));

export const BundleLimits = z.object({
  maxStringBytes: z.number().int().safe().positive().max(256),
  maxMapEntries: z.number().int().safe().positive(),
  maxStatementsPerProbe: z.number().int().safe().positive(),
  ringBufferBytes: z.number().int().safe().positive(),
});

/** Everything an agent needs to verify and load a bundle, and ingest to decode its events. */
export const BundleManifest = z.object({
  format: z.literal(1),
  /** sha256 of the canonical manifest-without-id plus object: same inputs, same id. */
  bundleId: Sha256Hex,
  scriptDigest: Sha256Hex,
  compilerVersion: z.string(),
  kernel: z.object({ buildId: BuildId, release: z.string() }),
  binaries: z.array(z.object({ path: z.string().startsWith('/'), buildId: BuildId })),
  attach: z.array(AttachPoint),
  events: z.array(EventLayout),
  maps: z.array(MapLayout),
  /** Stack-trace maps behind kstack/ustack keys; absent when the script uses none. */
  stacks: z.array(StackMap).optional(),
  /** How events that share a transaction key form spans (`hop`/`final` declarations); absent when the script declares none. */
  transaction: TxnShape.optional(),
  limits: BundleLimits,
  objectSha256: Sha256Hex,
});
export type BundleManifest = z.infer<typeof BundleManifest>;

/**
 * The manifest as the events of published batches are laid out: stack fields as their
 * symbolised text (publishedLayout). The agent publishes records in this layout; everything
 * that reads published batches (ingest, the assembler) reads it; the runner's records and
 * `tapfleet run` keep the manifest's own.
 */
export function publishedManifest(m: BundleManifest): BundleManifest {
  return m.events.some((e) => e.fields.some(isHostField)) ? { ...m, events: m.events.map(publishedLayout) } : m;
}

/** The BPF object's symbol for an aggregation map `@name`: what runners snapshot. */
export const mapObjectName = (mapName: string) => `m_${mapName.slice(1)}`;

/** Value bytes per CPU of each aggregation kind; hist has 66 log2 buckets (<0, 0, then 2^0..2^63). */
export const HIST_BUCKETS = 66;
export function aggregationValueSize(kind: z.infer<typeof AggregationKind>, lhist?: { lo: number; hi: number; step: number }): number {
  switch (kind) {
    case 'count': case 'sum': return 8;
    case 'min': case 'max': case 'avg': case 'stats': return 16;
    case 'hist': return HIST_BUCKETS * 8;
    case 'lhist': return (Math.ceil((lhist!.hi - lhist!.lo) / lhist!.step) + 2) * 8;
  }
}
