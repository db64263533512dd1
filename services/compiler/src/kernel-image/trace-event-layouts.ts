import type { TracepointField } from '@tapfleet/schemas';
import { BtfKind, type Btf, type BtfParam, type BtfType } from './btf.js';
import type { EventField } from './kernel-tables.js';

/**
 * Tracepoint record layouts from BTF, the way bpftrace reads them: a trace event's record is
 * `struct trace_event_raw_<class>`, where the class is the event's own name for TRACE_EVENT and
 * the DECLARE_EVENT_CLASS name for DEFINE_EVENT. BTF does not say which class an event belongs
 * to, so it is found by prototype: `btf_trace_<event>` (every tracepoint) must take exactly the
 * arguments of the class's `__bpf_trace_<class>` / `trace_event_raw_event_<class>` /
 * `perf_trace_<class>` (per class). Where that leaves several classes with different layouts the
 * event is left out: a missing tracepoint is a clear compile error, a wrong layout reads garbage.
 */

export interface Underived {
  /** `event` (the subsystem may be unknown too) or `subsys:event`. */
  name: string;
  reason: string;
}

export type LayoutResult = { fields: TracepointField[] } | { reason: string };

const CLASS_FUNCS = ['__bpf_trace_', 'trace_event_raw_event_', 'perf_trace_'];

/** A prototype as comparable text: argument types by BTF id (deduplicated, so equal types share ids), then names where known. */
function protoKey(params: BtfParam[]): string {
  return params.map((p) => p.type).join(',');
}

export class TraceEventLayouts {
  /** class -> raw struct */
  private readonly classes = new Map<string, BtfType>();
  /** prototype key -> classes with that prototype */
  private readonly byProto = new Map<string, string[]>();
  private readonly classParams = new Map<string, BtfParam[]>();

  constructor(private readonly btf: Btf) {
    for (const s of btf.named(BtfKind.Struct)) if (s.name.startsWith('trace_event_raw_')) this.classes.set(s.name.slice('trace_event_raw_'.length), s);
    for (const cls of this.classes.keys()) {
      const params = CLASS_FUNCS.map((f) => btf.funcParams(f + cls)).find((p) => p !== undefined);
      if (!params) continue;
      const args = params.slice(1); // drop `void *__data`
      this.classParams.set(cls, args);
      const key = protoKey(args);
      const list = this.byProto.get(key);
      if (list) list.push(cls);
      else this.byProto.set(key, [cls]);
    }
  }

  /** Every tracepoint the kernel declares (trace events and bare DECLARE_TRACE points alike). */
  tracepoints(): string[] {
    const names: string[] = [];
    for (const t of this.btf.named(BtfKind.Typedef)) if (t.name.startsWith('btf_trace_')) names.push(t.name.slice('btf_trace_'.length));
    return names.sort();
  }

  /** The class whose record an event writes, or why it cannot be told. */
  classOf(event: string): { cls: string } | { reason: string } {
    // TRACE_EVENT(e) is its own class; a bare tracepoint has __bpf_trace_<e> but no record struct.
    if (this.classes.has(event)) return { cls: event };
    if (this.btf.find(BtfKind.Func, `__bpf_trace_${event}`)) return { reason: 'a bare tracepoint (DECLARE_TRACE): no trace event, no tracefs entry' };
    const typedef = this.btf.find(BtfKind.Typedef, `btf_trace_${event}`);
    if (!typedef) return { reason: 'no btf_trace_ typedef in BTF' };
    const proto = this.btf.strip(this.btf.strip(typedef.sizeOrType).sizeOrType);
    if (proto.kind !== BtfKind.FuncProto || !proto.params) return { reason: 'btf_trace_ typedef is not a function pointer' };
    const args = proto.params.slice(1);
    const names = this.btf.funcParams(`__traceiter_${event}`)?.slice(1);
    const candidates = (this.byProto.get(protoKey(args)) ?? []).filter((c) => !names || names.length !== args.length || names.every((n, i) => n.name === this.classParams.get(c)![i]!.name));
    if (candidates.length === 0) return { reason: 'no event class in BTF takes its arguments (the class functions may be inlined away)' };
    const layouts = new Set(candidates.map((c) => JSON.stringify(this.layout(c))));
    if (layouts.size > 1) return { reason: `its arguments match ${candidates.length} event classes with different records (${candidates.slice(0, 4).join(', ')}${candidates.length > 4 ? ', ...' : ''})` };
    return { cls: candidates[0]! };
  }

  private byFieldNames?: Map<string, string[]>;

  /**
   * The record of an event whose class's field table the image holds (see kernel-tables.ts): the
   * record struct is the one whose members are those fields in that order, and each field's
   * offset is its member's. Types, sizes and signedness are the table's, as tracefs prints them.
   */
  fromTable(table: EventField[]): LayoutResult {
    if (!this.byFieldNames) {
      this.byFieldNames = new Map();
      for (const [cls, s] of this.classes) {
        const key = recordFieldNames(s).join(',');
        this.byFieldNames.set(key, [...(this.byFieldNames.get(key) ?? []), cls]);
      }
    }
    const candidates = this.byFieldNames.get(table.map((f) => f.name).join(',')) ?? [];
    const layouts = new Set(candidates.map((c) => this.tableLayout(c, table)).filter((l) => l !== undefined).map((l) => JSON.stringify(l)));
    if (layouts.size === 0) return { reason: `no trace_event_raw_ struct in BTF has its fields (${table.map((f) => f.name).join(', ')})` };
    if (layouts.size > 1) return { reason: `${layouts.size} record structs with its fields lay them out differently` };
    return { fields: JSON.parse([...layouts][0]!) as TracepointField[] };
  }

  private tableLayout(cls: string, table: EventField[]): TracepointField[] | undefined {
    const base = this.layout(cls);
    if ('reason' in base) return undefined;
    const common = base.fields.filter((f) => f.name.startsWith('common_'));
    const rest = base.fields.filter((f) => !f.name.startsWith('common_'));
    if (rest.length !== table.length) return undefined;
    const fields = [...common];
    for (const [i, t] of table.entries()) {
      const member = rest[i]!;
      if (member.name !== t.name || member.size !== t.size) return undefined;
      fields.push({ decl: tracefsDecl(t.type, t.name), name: t.name, offset: member.offset, size: t.size, signed: t.signed });
    }
    return fields;
  }

  /** The fields of an event class's record, as tracefs would list them. */
  layout(cls: string): LayoutResult {
    const s = this.classes.get(cls);
    if (!s) return { reason: `no struct trace_event_raw_${cls} in BTF` };
    const fields: TracepointField[] = [];
    for (const m of s.members ?? []) {
      if (m.bitSize !== 0 || m.bitOffset % 8 !== 0) return { reason: `field ${m.name} is a bitfield` };
      const offset = m.bitOffset / 8;
      if (m.name === 'ent') {
        const common = this.commonFields(m.type, offset);
        if ('reason' in common) return common;
        fields.push(...common.fields);
        continue;
      }
      const loc = /^__(data|rel)_loc_(.+)$/.exec(m.name);
      if (loc) {
        fields.push(this.dynamicField(loc[1] as 'data' | 'rel', loc[2]!, offset));
        continue;
      }
      const size = this.btf.sizeOf(m.type);
      if (size === undefined) return { reason: `field ${m.name} has a type without a size` };
      // The record ends in `char __data[]`, the variable part: tracefs does not list it.
      if (size === 0 && m.name === '__data') continue;
      fields.push({ decl: this.btf.declare(m.type, m.name), name: m.name, offset, size, signed: this.btf.isSigned(m.type) });
    }
    return { fields };
  }

  /** `struct trace_entry ent` is listed by tracefs as its members with a `common_` prefix. */
  private commonFields(type: number, base: number): LayoutResult {
    const entry = this.btf.strip(type);
    const fields: TracepointField[] = [];
    for (const m of entry.members ?? []) {
      const size = this.btf.sizeOf(m.type);
      if (size === undefined || m.bitSize !== 0) return { reason: `trace_entry.${m.name} has no plain size` };
      const name = `common_${m.name}`;
      fields.push({ decl: this.btf.declare(m.type, name), name, offset: base + m.bitOffset / 8, size, signed: this.btf.isSigned(m.type) });
    }
    return fields.length ? { fields } : { reason: 'struct trace_entry has no members in BTF' };
  }

  /**
   * A `__data_loc`/`__rel_loc` field is a u32 (offset and length of the variable part); BTF has
   * only that u32, not the element type. It is described as the `__string` it almost always is
   * (320 of the 336 on a 6.18 kernel): `char[]`, with char's signedness, which is what tracefs
   * prints for strings. The compiler reads every `__data_loc` field as a string either way.
   */
  private dynamicField(kind: 'data' | 'rel', name: string, offset: number): TracepointField {
    const char = this.btf.find(BtfKind.Int, 'char');
    return { decl: `__${kind}_loc char[] ${name}`, name, offset, size: 4, signed: char ? this.btf.isSigned(char.id) : false };
  }
}

/** A record struct's members as tracefs names them (no entry header, no variable tail, `__data_loc_x` is x). */
function recordFieldNames(s: BtfType): string[] {
  return (s.members ?? []).filter((m) => m.name !== 'ent' && m.name !== '__data').map((m) => m.name.replace(/^__(data|rel)_loc_/, ''));
}

/** How tracefs prints a field (trace_events.c f_show): an array's `[N]` goes after the name, except for __data_loc. */
function tracefsDecl(type: string, name: string): string {
  const bracket = type.indexOf('[');
  if (bracket === -1 || type.startsWith('__data_loc')) return `${type} ${name}`;
  return `${type.slice(0, bracket)} ${name}${type.slice(bracket)}`;
}
