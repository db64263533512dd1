/**
 * A kernel image's initial memory, addressed the way the kernel's own pointers are: link-time
 * virtual addresses. An x86 vmlinux is linked at fixed addresses and keeps its program headers;
 * an arm64 Image is the memory from _text on, with pointers stored in place at link-time values.
 * This is what lets static tables (the events' classes, the syscalls' metadata) be read without
 * booting the kernel.
 */
export interface Segment {
  vaddr: bigint;
  offset: number;
  size: number;
}

const PT_LOAD = 1;
/** Kernel addresses on x86_64 and arm64 are in the top half. */
const KERNEL_SPACE = 0xffff000000000000n;

/** R_AARCH64_RELATIVE: *(r_offset) = load base + r_addend. */
const R_AARCH64_RELATIVE = 0x403n;

export class ImageMemory {
  /**
   * `relocations`: pointers stored as RELA entries rather than in place (arm64 links with
   * --no-apply-dynamic-relocs: in the file those words are 0, their values live in .rela.dyn).
   * `skip`: file range of the relocation table itself, which is not memory anyone points from.
   */
  constructor(
    private readonly buf: Buffer,
    private readonly segments: Segment[],
    private readonly relocations = new Map<bigint, bigint>(),
    private readonly skip: [number, number] = [0, 0],
  ) {}

  /** PT_LOAD segments at kernel addresses (the per-CPU template, linked at 0, is not memory). */
  static fromElf(buf: Buffer): ImageMemory {
    const phoff = Number(buf.readBigUInt64LE(0x20));
    const phentsize = buf.readUInt16LE(0x36);
    const phnum = buf.readUInt16LE(0x38);
    const segments: Segment[] = [];
    for (let i = 0; i < phnum; i++) {
      const at = phoff + i * phentsize;
      const vaddr = buf.readBigUInt64LE(at + 16);
      if (buf.readUInt32LE(at) === PT_LOAD && vaddr >= KERNEL_SPACE)
        segments.push({ vaddr, offset: Number(buf.readBigUInt64LE(at + 8)), size: Number(buf.readBigUInt64LE(at + 32)) });
    }
    return new ImageMemory(buf, segments);
  }

  /**
   * A raw Image has no headers saying where it is linked (KIMAGE_VADDR moved between versions).
   * Syscall metadata points at its `sys_<name>` strings: the base that turns the most such
   * pointers into those strings' offsets is the link address of the file's first byte.
   */
  static fromRawImage(buf: Buffer, anchors: string[] = ['sys_read', 'sys_write', 'sys_openat', 'sys_close', 'sys_mmap', 'sys_exit_group']): ImageMemory | undefined {
    // base -> the anchors that vote for it; a link address is 2 MiB aligned (arm64 SEGMENT_ALIGN or more).
    const votes = new Map<bigint, Set<string>>();
    const byLow16 = new Map<number, { anchor: string; offset: number }[]>();
    for (const anchor of anchors)
      for (const offset of stringOffsets(buf, anchor)) byLow16.set(offset & 0xffff, [...(byLow16.get(offset & 0xffff) ?? []), { anchor, offset }]);
    for (let at = 0; at + 8 <= buf.length; at += 8) {
      if (buf.readUInt16LE(at + 6) !== 0xffff) continue;
      const candidates = byLow16.get(buf.readUInt16LE(at));
      if (!candidates) continue;
      const v = buf.readBigUInt64LE(at);
      for (const { anchor, offset } of candidates) {
        const base = v - BigInt(offset);
        if ((base & 0x1fffffn) === 0n) votes.set(base, (votes.get(base) ?? new Set()).add(anchor));
      }
    }
    const best = [...votes].sort((a, b) => b[1].size - a[1].size)[0];
    if (!best || best[1].size < anchors.length / 2) return undefined;
    const base = best[0];
    const end = base + BigInt(buf.length);
    // .rela.dyn: 24-byte (r_offset, r_info, r_addend) entries whose r_offset lies in the image.
    const relocations = new Map<bigint, bigint>();
    let first = Infinity;
    let last = 0;
    for (let at = 8; at + 16 <= buf.length; at += 8) {
      if (buf.readUInt32LE(at) !== Number(R_AARCH64_RELATIVE) || buf.readUInt32LE(at + 4) !== 0) continue;
      const where = buf.readBigUInt64LE(at - 8);
      if (where < base || where >= end) continue;
      relocations.set(where, buf.readBigUInt64LE(at + 8));
      first = Math.min(first, at - 8);
      last = Math.max(last, at + 16);
    }
    return new ImageMemory(buf, [{ vaddr: base, offset: 0, size: buf.length }], relocations, relocations.size ? [first, last] : [0, 0]);
  }

  offsetOf(vaddr: bigint, length = 1): number | undefined {
    for (const s of this.segments) {
      const rel = vaddr - s.vaddr;
      if (rel >= 0n && rel + BigInt(length) <= BigInt(s.size)) return s.offset + Number(rel);
    }
    return undefined;
  }

  vaddrOf(offset: number): bigint | undefined {
    const s = this.segments.find((x) => offset >= x.offset && offset < x.offset + x.size);
    return s ? s.vaddr + BigInt(offset - s.offset) : undefined;
  }

  qword(vaddr: bigint): bigint | undefined {
    const relocated = this.relocations.get(vaddr);
    if (relocated !== undefined) return relocated;
    const at = this.offsetOf(vaddr, 8);
    return at === undefined ? undefined : this.buf.readBigUInt64LE(at);
  }

  i32(vaddr: bigint): number | undefined {
    const at = this.offsetOf(vaddr, 4);
    return at === undefined ? undefined : this.buf.readInt32LE(at);
  }

  /** The NUL-terminated string at `vaddr`, if it is printable and shorter than `max`. */
  cString(vaddr: bigint, max = 256): string | undefined {
    const at = this.offsetOf(vaddr);
    if (at === undefined) return undefined;
    const end = this.buf.indexOf(0, at);
    if (end === -1 || end - at > max) return undefined;
    const s = this.buf.toString('latin1', at, end);
    return /^[\x20-\x7e]*$/.test(s) ? s : undefined;
  }

  /**
   * Where each of `texts` (identifiers) sits NUL-terminated, also as the tail of a longer string
   * (linkers merge those): one pass over memory, not one search per text.
   */
  stringAddresses(texts: Iterable<string>): Map<string, bigint[]> {
    const wanted = new Set(texts);
    const lengths = [...new Set([...wanted].map((t) => t.length))].sort((a, b) => a - b);
    const shortest = lengths[0] ?? Infinity;
    // length, first and last byte: rules out almost every candidate before a string is made.
    const signature = (len: number, first: number, last: number) => len * 65536 + first * 256 + last;
    const signatures = new Set([...wanted].map((t) => signature(t.length, t.charCodeAt(0), t.charCodeAt(t.length - 1))));
    const found = new Map<string, bigint[]>([...wanted].map((t) => [t, []]));
    const bytes: Uint8Array = this.buf;
    for (const s of this.segments) {
      let run = 0;
      for (let at = s.offset; at < s.offset + s.size; at++) {
        const c = bytes[at]!;
        if (c !== 0) {
          run = isIdentChar(c) ? run + 1 : 0;
          continue;
        }
        if (run >= shortest) {
          for (const len of lengths) {
            if (len > run) break;
            if (!signatures.has(signature(len, bytes[at - len]!, bytes[at - 1]!))) continue;
            const text = this.buf.toString('latin1', at - len, at);
            if (wanted.has(text)) found.get(text)!.push(s.vaddr + BigInt(at - len - s.offset));
          }
        }
        run = 0;
      }
    }
    return found;
  }

  /** For each target address, where in memory an aligned pointer to it is stored. */
  pointersTo(targets: Iterable<bigint>): Map<bigint, bigint[]> {
    const wanted = new Set(targets);
    const low = new Set([...wanted].map((t) => Number(t & 0xffffffffn)));
    const found = new Map<bigint, bigint[]>();
    for (const s of this.segments) {
      const start = s.offset + ((8 - (Number(s.vaddr & 7n))) & 7);
      for (let at = start; at + 8 <= s.offset + s.size; at += 8) {
        if (at >= this.skip[0] && at < this.skip[1]) continue;
        if (!low.has(this.buf.readUInt32LE(at))) continue;
        const v = this.buf.readBigUInt64LE(at);
        if (!wanted.has(v)) continue;
        const where = s.vaddr + BigInt(at - s.offset);
        const list = found.get(v);
        if (list) list.push(where);
        else found.set(v, [where]);
      }
    }
    for (const [where, value] of this.relocations) {
      if (!wanted.has(value)) continue;
      const list = found.get(value);
      if (list) list.push(where);
      else found.set(value, [where]);
    }
    return found;
  }
}

function isIdentChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

function stringOffsets(buf: Buffer, text: string): number[] {
  const needle = Buffer.from(`${text}\0`, 'latin1');
  const out: number[] = [];
  for (let at = buf.indexOf(needle); at !== -1; at = buf.indexOf(needle, at + 1)) out.push(at);
  return out;
}
