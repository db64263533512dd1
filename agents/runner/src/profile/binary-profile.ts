import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BinaryProfile, ElfSymbol, UsdtNote } from '@tapfleet/schemas';
import { gnuBuildId, NT_STAPSDT, parseNotes } from '@tapfleet/schemas';

interface Section {
  name: string;
  type: number;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

interface Segment {
  type: number;
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
}

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const STT_FUNC = 2;

export class ElfError extends Error {
  readonly code = 'TAPFLEET_ELF';
}

function cString(buf: Buffer, at: number): string {
  const end = buf.indexOf(0, at);
  return buf.toString('utf8', at, end === -1 ? buf.length : end);
}

interface OpenElf {
  abs: string;
  buf: Buffer;
  sections: Section[];
  bytesOf: (s: Section) => Buffer;
  toFileOffset: (vaddr: bigint) => number | undefined;
}

/** Reads a 64-bit little-endian ELF's headers: sections and a virtual-address to file-offset map. */
function openElf(path: string): OpenElf {
  const abs = resolve(path);
  let buf: Buffer;
  try {
    // A device or FIFO named as a binary (uprobe:/dev/zero:f) would be read without end, or block the open.
    if (!statSync(abs).isFile()) throw new ElfError(`${abs} is not a regular file`);
    buf = readFileSync(abs);
  } catch (e) {
    if (e instanceof ElfError) throw e;
    throw new ElfError(`cannot read ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new ElfError(`${abs} is not an ELF file`);
  if (buf[4] !== 2 || buf[5] !== 1) throw new ElfError(`${abs} is not a 64-bit little-endian ELF`);
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);

  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    segments.push({ type: buf.readUInt32LE(at), offset: buf.readBigUInt64LE(at + 8), vaddr: buf.readBigUInt64LE(at + 16), filesz: buf.readBigUInt64LE(at + 32) });
  }
  const raw = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return {
      nameOff: buf.readUInt32LE(at),
      type: buf.readUInt32LE(at + 4),
      addr: buf.readBigUInt64LE(at + 16),
      offset: Number(buf.readBigUInt64LE(at + 24)),
      size: Number(buf.readBigUInt64LE(at + 32)),
      link: buf.readUInt32LE(at + 40),
      entsize: Number(buf.readBigUInt64LE(at + 56)),
    };
  });
  const shstr = raw[shstrndx];
  const sections: Section[] = raw.map((s) => ({ ...s, name: shstr ? cString(buf, shstr.offset + s.nameOff) : '' }));
  const bytesOf = (s: Section) => buf.subarray(s.offset, s.offset + s.size);
  const toFileOffset = (vaddr: bigint): number | undefined => {
    const seg = segments.find((p) => p.type === PT_LOAD && vaddr >= p.vaddr && vaddr < p.vaddr + p.filesz);
    return seg ? Number(vaddr - seg.vaddr + seg.offset) : undefined;
  };
  return { abs, buf, sections, bytesOf, toFileOffset };
}

/** Function symbols of .symtab and .dynsym (the first of a name wins), with their file offsets. */
function functionSymbols({ buf, sections, toFileOffset }: OpenElf): ElfSymbol[] {
  const symbols = new Map<string, ElfSymbol>();
  for (const s of sections.filter((x) => x.type === SHT_SYMTAB || x.type === SHT_DYNSYM)) {
    const strtab = sections[s.link];
    if (!strtab || s.entsize === 0) continue;
    for (let at = s.offset; at + 24 <= s.offset + s.size; at += s.entsize) {
      const info = buf[at + 4]!;
      const shndx = buf.readUInt16LE(at + 6);
      const value = buf.readBigUInt64LE(at + 8);
      if ((info & 0xf) !== STT_FUNC || shndx === 0 || value === 0n) continue;
      const name = cString(buf, strtab.offset + buf.readUInt32LE(at));
      const fileOffset = toFileOffset(value);
      if (!name || fileOffset === undefined || symbols.has(name)) continue;
      symbols.set(name, { name, address: Number(value), size: Number(buf.readBigUInt64LE(at + 16)), fileOffset });
    }
  }
  return [...symbols.values()];
}

/**
 * The functions of any ELF file, build-id or not: what a stack symboliser needs of a mapped
 * file. Throws ElfError when the file cannot be read or is not a 64-bit little-endian ELF.
 */
export function readElfFunctions(path: string, debugRoot = '/usr/lib/debug'): { buildId?: string; symbols: ElfSymbol[] } {
  const elf = openElf(path);
  const note = elf.sections.find((s) => s.name === '.note.gnu.build-id');
  const buildId = note ? gnuBuildId(parseNotes(elf.bytesOf(note))) : undefined;
  return { ...(buildId ? { buildId } : {}), symbols: [...functionSymbols(elf), ...debugFileFunctions(elf, buildId, debugRoot)] };
}

/**
 * A stripped library's local functions (libc's __libc_start_call_main) from its separate debug
 * file, where Debian's -dbg packages put it (DEBUG_ROOT/.build-id/NN/REST.debug). The debug
 * file's segments carry no file data, so its addresses map to offsets through the library's own.
 */
function debugFileFunctions(elf: OpenElf, buildId: string | undefined, debugRoot: string): ElfSymbol[] {
  if (!buildId) return [];
  let debug: OpenElf;
  try {
    debug = openElf(`${debugRoot}/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`);
  } catch {
    return [];
  }
  return functionSymbols({ ...debug, toFileOffset: elf.toFileOffset });
}

/** Reads what the compiler needs of a 64-bit little-endian ELF: build-id, functions, USDT notes. */
export function readBinaryProfile(path: string): BinaryProfile {
  const elf = openElf(path);
  const { abs, sections, bytesOf, toFileOffset } = elf;
  const buildIdSection = sections.find((s) => s.name === '.note.gnu.build-id');
  const buildId = buildIdSection ? gnuBuildId(parseNotes(bytesOf(buildIdSection))) : undefined;
  if (!buildId) throw new ElfError(`${abs} has no GNU build-id note; link it with --build-id so bundles can be matched to it`);

  const symbols = functionSymbols(elf);

  const usdt: UsdtNote[] = [];
  const sdt = sections.find((s) => s.name === '.note.stapsdt');
  // A prelinked binary moved its sections: the note's recorded base vs .stapsdt.base now.
  const stapsdtBase = sections.find((s) => s.name === '.stapsdt.base');
  if (sdt) {
    for (const note of parseNotes(bytesOf(sdt))) {
      if (note.name !== 'stapsdt' || note.type !== NT_STAPSDT || note.desc.length < 24) continue;
      const provider = cString(note.desc, 24);
      const name = cString(note.desc, 24 + Buffer.byteLength(provider) + 1);
      const args = cString(note.desc, 24 + Buffer.byteLength(provider) + Buffer.byteLength(name) + 2);
      const address = note.desc.readBigUInt64LE(0);
      const base = note.desc.readBigUInt64LE(8);
      const semaphore = note.desc.readBigUInt64LE(16);
      const shift = stapsdtBase && base !== 0n ? stapsdtBase.addr - base : 0n;
      const fileOffset = toFileOffset(address + shift);
      // The semaphore lives in a data segment (.probes): its file offset is the uprobe's ref_ctr_offset.
      const semaphoreFileOffset = semaphore === 0n ? 0 : toFileOffset(semaphore + shift);
      usdt.push({
        provider,
        name,
        address: Number(address),
        base: Number(base),
        semaphore: Number(semaphore),
        args,
        ...(fileOffset !== undefined ? { fileOffset } : {}),
        ...(semaphoreFileOffset !== undefined ? { semaphoreFileOffset } : {}),
      });
    }
  }
  return { path: abs, buildId, symbols, usdt };
}
