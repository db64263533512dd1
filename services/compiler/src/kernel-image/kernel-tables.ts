import { BtfKind, type Btf, type BtfType } from './btf.js';
import type { ImageMemory } from './image-memory.js';

/**
 * The kernel's own static tables, read from an image's memory with BTF giving their layout:
 * - each trace event's `struct trace_event_call` -> its class -> `system` (the subsystem tracefs
 *   files it under) and `fields_array` (type, name, size, signedness of each field, exactly what
 *   tracefs prints; the offsets are laid out at boot, so they come from BTF's record struct);
 * - each syscall's `struct syscall_metadata` (SYSCALL_DEFINE's argument types and names, what
 *   tracefs lists for syscalls:sys_enter_*).
 * Everything read is checked for shape; anything that does not fit is left unknown.
 */

export interface EventField {
  type: string;
  name: string;
  size: number;
  signed: boolean;
}

export interface EventEntry {
  system: string;
  /** Undefined for events whose class defines its fields in code (a define_fields callback). */
  fields?: EventField[];
}

export interface SyscallMeta {
  args: { type: string; name: string }[];
}

/** `(const char *)~0UL`: the class describes its fields with a function instead of a table. */
const TRACE_FUNCTION_TYPE = 0xffffffffffffffffn;
const MAX_FIELDS = 128;

export class KernelTables {
  constructor(private readonly btf: Btf, private readonly mem: ImageMemory) {}

  /** Byte offset of `path` in struct `name`, looking through anonymous unions and structs. */
  private offset(name: string, member: string): number | undefined {
    const s = this.btf.find(BtfKind.Struct, name);
    return s ? this.memberOffset(s, member) : undefined;
  }

  private memberOffset(s: BtfType, member: string): number | undefined {
    for (const m of s.members ?? []) {
      if (m.name === member) return m.bitOffset / 8;
      if (m.name === '') {
        const inner = this.memberOffset(this.btf.strip(m.type), member);
        if (inner !== undefined) return m.bitOffset / 8 + inner;
      }
    }
    return undefined;
  }

  /** Where each string is stored and which aligned pointers point at it, in one pass over memory. */
  private referencesTo(strings: string[]): Map<string, bigint[]> {
    const addrs = this.mem.stringAddresses(strings);
    const pointers = this.mem.pointersTo([...addrs.values()].flat());
    return new Map([...addrs].map(([s, list]) => [s, list.flatMap((a) => pointers.get(a) ?? [])]));
  }

  syscalls(names: string[]): Map<string, SyscallMeta> {
    const o = {
      name: this.offset('syscall_metadata', 'name'), nr: this.offset('syscall_metadata', 'syscall_nr'), nb: this.offset('syscall_metadata', 'nb_args'),
      types: this.offset('syscall_metadata', 'types'), args: this.offset('syscall_metadata', 'args'),
    };
    const out = new Map<string, SyscallMeta>();
    if (Object.values(o).some((v) => v === undefined)) return out;
    const refs = this.referencesTo(names.map((n) => `sys_${n}`));
    for (const name of names) {
      const found = new Set<string>();
      for (const at of refs.get(`sys_${name}`) ?? []) {
        const meta = at - BigInt(o.name!);
        const nb = this.mem.i32(meta + BigInt(o.nb!));
        // Statically every syscall_nr is -1 (numbers are filled in at boot).
        if (this.mem.i32(meta + BigInt(o.nr!)) !== -1 || nb === undefined || nb < 0 || nb > 6) continue;
        const args = this.strings(this.mem.qword(meta + BigInt(o.args!)), nb);
        const types = this.strings(this.mem.qword(meta + BigInt(o.types!)), nb);
        if (!args || !types || !args.every((a) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(a))) continue;
        found.add(JSON.stringify(args.map((a, i) => ({ type: types[i]!, name: a }))));
      }
      if (found.size === 1) out.set(name, { args: JSON.parse([...found][0]!) as SyscallMeta['args'] });
    }
    return out;
  }

  /** `count` string pointers from an array at `at` (an empty list needs no array). */
  private strings(at: bigint | undefined, count: number): string[] | undefined {
    if (count === 0) return [];
    if (at === undefined) return undefined;
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const p = this.mem.qword(at + BigInt(8 * i));
      const s = p === undefined ? undefined : this.mem.cString(p);
      if (!s) return undefined;
      out.push(s);
    }
    return out;
  }

  events(names: string[]): Map<string, EventEntry> {
    const o = {
      tpName: this.offset('tracepoint', 'name'), callClass: this.offset('trace_event_call', 'class'), callTp: this.offset('trace_event_call', 'tp'),
      system: this.offset('trace_event_class', 'system'), fieldsArray: this.offset('trace_event_class', 'fields_array'),
    };
    const out = new Map<string, EventEntry>();
    if (Object.values(o).some((v) => v === undefined)) return out;
    // event name string <- struct tracepoint.name <- struct trace_event_call.tp
    const nameRefs = this.referencesTo(names);
    const tracepoints = new Map<bigint, string>();
    for (const [name, refs] of nameRefs) for (const at of refs) tracepoints.set(at - BigInt(o.tpName!), name);
    const callRefs = this.mem.pointersTo(tracepoints.keys());
    const found = new Map<string, Set<string>>();
    for (const [tp, refs] of callRefs) {
      const name = tracepoints.get(tp)!;
      for (const at of refs) {
        const call = at - BigInt(o.callTp!);
        const cls = this.mem.qword(call + BigInt(o.callClass!));
        const sysPtr = cls === undefined ? undefined : this.mem.qword(cls + BigInt(o.system!));
        const system = sysPtr === undefined ? undefined : this.mem.cString(sysPtr, 64);
        if (!system || !/^[a-z0-9_]+$/.test(system)) continue;
        const fields = this.fieldsArray(this.mem.qword(cls! + BigInt(o.fieldsArray!)));
        if (fields === null) continue;
        const entry: EventEntry = { system, ...(fields ? { fields } : {}) };
        found.set(name, (found.get(name) ?? new Set()).add(JSON.stringify(entry)));
      }
    }
    // Two different answers for one name means one of them is a coincidence: believe neither.
    for (const [name, entries] of found) if (entries.size === 1) out.set(name, JSON.parse([...entries][0]!) as EventEntry);
    return out;
  }

  /** The class's field table; undefined when the class defines fields in code; null when it does not read as one. */
  private fieldsArray(at: bigint | undefined): EventField[] | undefined | null {
    const entrySize = this.btf.sizeOf(this.btf.find(BtfKind.Struct, 'trace_event_fields')?.id ?? 0);
    const o = { name: this.offset('trace_event_fields', 'name'), size: this.offset('trace_event_fields', 'size'), signed: this.offset('trace_event_fields', 'is_signed') };
    if (at === undefined || !entrySize || o.name === undefined || o.size === undefined || o.signed === undefined) return null;
    const fields: EventField[] = [];
    for (let i = 0; i < MAX_FIELDS; i++) {
      const entry = at + BigInt(i * entrySize);
      const typePtr = this.mem.qword(entry);
      if (typePtr === undefined) return null;
      if (typePtr === 0n) return fields;
      if (typePtr === TRACE_FUNCTION_TYPE) return undefined;
      const type = this.mem.cString(typePtr, 128);
      const namePtr = this.mem.qword(entry + BigInt(o.name));
      const name = namePtr === undefined ? undefined : this.mem.cString(namePtr, 128);
      const size = this.mem.i32(entry + BigInt(o.size));
      const signed = this.mem.i32(entry + BigInt(o.signed));
      if (!type || !name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || size === undefined || size < 0 || (signed !== 0 && signed !== 1)) return null;
      fields.push({ type, name, size, signed: signed === 1 });
    }
    return null;
  }
}
