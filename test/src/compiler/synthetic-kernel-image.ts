import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Btf, BtfKind } from '@tapfleet/compiler';
import type { TracepointFormat } from '@tapfleet/schemas';

/**
 * Kernel images built around this host's real BTF, holding the tables the image readers look
 * for (an event's tracepoint/call/class/fields_array, syscall metadata) laid out by that BTF:
 * the shapes of a real vmlinux, bzImage and arm64 Image at a size a test can write. The real
 * Debian images are what scripts/kernel-profiles.sh reads; these let every reader run in CI.
 */

export const BUILD_ID = '0123456789abcdef0123456789abcdef01234567';
export const BANNER = 'Linux version 6.99.0-test (tester@example) (gcc (Debian 12.2.0-14) 12.2.0, GNU ld 2.40) #7 SMP PREEMPT_DYNAMIC Debian 6.99.0-1 (2026-12-01)\n';

/** Memory at link-time addresses; pointers either stored in place or left 0 with a RELA entry (arm64). */
class Memory {
  bytes = Buffer.alloc(0);
  readonly relocations: [bigint, bigint][] = [];
  constructor(readonly base: bigint, private readonly inPlace: boolean) {}

  place(data: Buffer, align = 8): bigint {
    const at = Math.ceil(this.bytes.length / align) * align;
    this.bytes = Buffer.concat([this.bytes, Buffer.alloc(at - this.bytes.length), data]);
    return this.base + BigInt(at);
  }
  string(s: string): bigint {
    return this.place(Buffer.from(`${s}\0`, 'latin1'), 1);
  }
  /** A zeroed struct of `size` bytes; returns its address. */
  struct(size: number): bigint {
    return this.place(Buffer.alloc(size));
  }
  pointer(at: bigint, value: bigint): void {
    if (this.inPlace) this.bytes.writeBigUInt64LE(value, Number(at - this.base));
    else this.relocations.push([at, value]);
  }
  i32(at: bigint, value: number): void {
    this.bytes.writeInt32LE(value, Number(at - this.base));
  }
}

function offsetOf(btf: Btf, struct: string, member: string): number {
  const walk = (id: number): number | undefined => {
    for (const m of btf.strip(id).members ?? []) {
      if (m.name === member) return m.bitOffset / 8;
      if (m.name === '') {
        const inner = walk(m.type);
        if (inner !== undefined) return m.bitOffset / 8 + inner;
      }
    }
    return undefined;
  };
  const s = btf.find(BtfKind.Struct, struct);
  const off = s ? walk(s.id) : undefined;
  if (off === undefined) throw new Error(`${struct}.${member} is not in this host's BTF`);
  return off;
}

function sizeOf(btf: Btf, struct: string): number {
  const s = btf.find(BtfKind.Struct, struct);
  if (!s) throw new Error(`struct ${struct} is not in this host's BTF`);
  return s.sizeOrType;
}

export interface ImageContents {
  /** `event` -> (subsystem, its tracefs format: the fields_array is made from it). */
  events: Record<string, { system: string; format: TracepointFormat }>;
  /** syscall -> SYSCALL_DEFINE arguments. */
  syscalls: Record<string, { type: string; name: string }[]>;
}

function buildMemory(btf: Btf, contents: ImageContents, base: bigint, inPlace: boolean, btfBlob: Buffer): Memory {
  const mem = new Memory(base, inPlace);
  mem.place(Buffer.alloc(64)); // where an arm64 Image keeps its header
  mem.string(BANNER.replace(/\n$/, '') + '\n');
  // .notes: namesz 4, descsz 20, NT_GNU_BUILD_ID, "GNU\0", the id.
  mem.place(Buffer.concat([Buffer.from('040000001400000003000000474e5500', 'hex'), Buffer.from(BUILD_ID, 'hex')]), 4);
  mem.place(btfBlob, 4);
  const fieldSize = sizeOf(btf, 'trace_event_fields');
  for (const [event, { system, format }] of Object.entries(contents.events)) {
    const fields = format.fields.filter((f) => !f.name.startsWith('common_'));
    const table = mem.struct(fieldSize * (fields.length + 1));
    fields.forEach((f, i) => {
      const entry = table + BigInt(i * fieldSize);
      // tracefs prints `char comm[16]` for the type `char[16]`.
      mem.pointer(entry, mem.string(f.decl.replace(` ${f.name}`, '')));
      mem.pointer(entry + BigInt(offsetOf(btf, 'trace_event_fields', 'name')), mem.string(f.name));
      mem.i32(entry + BigInt(offsetOf(btf, 'trace_event_fields', 'size')), f.size);
      mem.i32(entry + BigInt(offsetOf(btf, 'trace_event_fields', 'is_signed')), f.signed ? 1 : 0);
    });
    const cls = mem.struct(sizeOf(btf, 'trace_event_class'));
    mem.pointer(cls + BigInt(offsetOf(btf, 'trace_event_class', 'system')), mem.string(system));
    mem.pointer(cls + BigInt(offsetOf(btf, 'trace_event_class', 'fields_array')), table);
    const tp = mem.struct(sizeOf(btf, 'tracepoint'));
    mem.pointer(tp + BigInt(offsetOf(btf, 'tracepoint', 'name')), mem.string(event));
    const call = mem.struct(sizeOf(btf, 'trace_event_call'));
    mem.pointer(call + BigInt(offsetOf(btf, 'trace_event_call', 'class')), cls);
    mem.pointer(call + BigInt(offsetOf(btf, 'trace_event_call', 'tp')), tp);
  }
  for (const [name, args] of Object.entries(contents.syscalls)) {
    const meta = mem.struct(sizeOf(btf, 'syscall_metadata'));
    mem.pointer(meta + BigInt(offsetOf(btf, 'syscall_metadata', 'name')), mem.string(`sys_${name}`));
    mem.i32(meta + BigInt(offsetOf(btf, 'syscall_metadata', 'syscall_nr')), -1);
    mem.i32(meta + BigInt(offsetOf(btf, 'syscall_metadata', 'nb_args')), args.length);
    const types = mem.struct(8 * Math.max(1, args.length));
    const names = mem.struct(8 * Math.max(1, args.length));
    args.forEach((a, i) => {
      mem.pointer(types + BigInt(8 * i), mem.string(a.type));
      mem.pointer(names + BigInt(8 * i), mem.string(a.name));
    });
    if (args.length) {
      mem.pointer(meta + BigInt(offsetOf(btf, 'syscall_metadata', 'types')), types);
      mem.pointer(meta + BigInt(offsetOf(btf, 'syscall_metadata', 'args')), names);
    }
  }
  return mem;
}

/** An x86_64 vmlinux: ELF header, one PT_LOAD at 0xffffffff81000000, sections .notes, .BTF and the section names. */
export function vmlinuxElf(contents: ImageContents, btfBlob = readFileSync('/sys/kernel/btf/vmlinux')): Buffer {
  const btf = new Btf(btfBlob);
  const mem = buildMemory(btf, contents, 0xffffffff81000000n, true, btfBlob);
  const load = 0x1000;
  const image = mem.bytes;
  const notesAt = image.indexOf(Buffer.from('040000001400000003000000474e5500', 'hex'));
  const btfAt = image.indexOf(btfBlob.subarray(0, 64));
  const shstr = Buffer.from('\0.notes\0.BTF\0.shstrtab\0', 'latin1');
  const shstrAt = load + image.length;
  const shoff = Math.ceil((shstrAt + shstr.length) / 8) * 8;
  const out = Buffer.alloc(shoff + 4 * 64);
  out.writeUInt32BE(0x7f454c46, 0);
  out[4] = 2; out[5] = 1; out[6] = 1;
  out.writeUInt16LE(2, 0x10); // ET_EXEC
  out.writeUInt16LE(62, 0x12); // EM_X86_64
  out.writeBigUInt64LE(0x40n, 0x20); // phoff
  out.writeBigUInt64LE(BigInt(shoff), 0x28);
  out.writeUInt16LE(64, 0x34); out.writeUInt16LE(56, 0x36); out.writeUInt16LE(1, 0x38);
  out.writeUInt16LE(64, 0x3a); out.writeUInt16LE(4, 0x3c); out.writeUInt16LE(3, 0x3e);
  // PT_LOAD
  out.writeUInt32LE(1, 0x40); out.writeUInt32LE(7, 0x44);
  out.writeBigUInt64LE(BigInt(load), 0x48); out.writeBigUInt64LE(mem.base, 0x50); out.writeBigUInt64LE(0x1000000n, 0x58);
  out.writeBigUInt64LE(BigInt(image.length), 0x60); out.writeBigUInt64LE(BigInt(image.length), 0x68);
  image.copy(out, load);
  shstr.copy(out, shstrAt);
  const section = (i: number, name: number, type: number, offset: number, size: number) => {
    const at = shoff + i * 64;
    out.writeUInt32LE(name, at); out.writeUInt32LE(type, at + 4);
    out.writeBigUInt64LE(BigInt(offset), at + 24); out.writeBigUInt64LE(BigInt(size), at + 32);
  };
  section(1, 1, 7, load + notesAt, 36); // .notes, SHT_NOTE
  section(2, 8, 1, load + btfAt, btfBlob.length); // .BTF
  section(3, 13, 3, shstrAt, shstr.length); // .shstrtab
  return out;
}

/** An x86 bzImage: real-mode setup sectors, then the vmlinux compressed with xz at payload_offset. */
export function bzImage(elf: Buffer): Buffer {
  const payload = execFileSync('xz', ['-c', '--check=crc32'], { input: elf, maxBuffer: 1 << 30 });
  const setupSects = 3;
  const start = (setupSects + 1) * 512;
  const out = Buffer.alloc(start + 0x100 + payload.length + 4);
  out[0x1f1] = setupSects;
  out.write('HdrS', 0x202, 'latin1');
  out.writeUInt32LE(0x100, 0x248);
  out.writeUInt32LE(payload.length, 0x24c);
  payload.copy(out, start + 0x100);
  out.writeUInt32LE(elf.length, start + 0x100 + payload.length); // the decompressed size, as the kernel appends it
  return out;
}

/** An arm64 Image: the memory from _text on, its pointers 0 in place and held in RELA entries after it. */
export function arm64Image(contents: ImageContents, btfBlob = readFileSync('/sys/kernel/btf/vmlinux')): Buffer {
  const btf = new Btf(btfBlob);
  const mem = buildMemory(btf, contents, 0xffff800008000000n, false, btfBlob);
  // A 64-byte arm64 Image header occupies the start of _text.
  const header = Buffer.alloc(64);
  header.write('ARMd', 0x38, 'latin1');
  const body = Buffer.concat([header, mem.bytes.subarray(64)]);
  const relaAt = Math.ceil(body.length / 8) * 8;
  const rela = Buffer.alloc(24 * mem.relocations.length);
  mem.relocations.forEach(([where, value], i) => {
    rela.writeBigUInt64LE(where, 24 * i);
    rela.writeBigUInt64LE(0x403n, 24 * i + 8);
    rela.writeBigUInt64LE(value, 24 * i + 16);
  });
  return Buffer.concat([body, Buffer.alloc(relaAt - body.length), rela]);
}
