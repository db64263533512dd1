import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { gnuBuildId, parseNotes } from '@tapfleet/schemas';
import type { KernelProfile } from '@tapfleet/schemas';
import { BTF_MAGIC, btfLength } from './btf.js';
import { ImageMemory } from './image-memory.js';

/**
 * What a kernel image file says about its kernel without booting it: the BTF blob, the GNU
 * build-id note (what /sys/kernel/notes shows when it runs) and the uname strings from its
 * banner. Reads an ELF vmlinux, an x86 bzImage (vmlinuz: the compressed payload is an ELF that
 * keeps .BTF and .notes, as scripts/extract-vmlinux finds it), an arm64 Image (raw, or gzipped),
 * or a bare BTF blob such as /sys/kernel/btf/vmlinux (BTF only).
 */
export interface KernelImage {
  arch: KernelProfile['arch'];
  btf: Buffer;
  btfSha256: string;
  buildId?: string;
  release?: string;
  version?: string;
  /** The image's memory at link-time addresses, for its static tables; absent for raw BTF. */
  memory?: ImageMemory;
  /** How the file was read, for messages: e.g. `bzImage (xz) -> ELF`. */
  format: string;
}

export class KernelImageError extends Error {
  readonly code = 'TAPFLEET_KERNEL_IMAGE';
}

const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const SHT_NOTE = 7;

/** Compressed payload magics, and the tool that inflates each (node has gzip only). */
const COMPRESSORS: { name: string; magic: Buffer; command?: string[] }[] = [
  { name: 'gzip', magic: Buffer.from([0x1f, 0x8b]) },
  { name: 'xz', magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), command: ['xz', '-dc'] },
  { name: 'zstd', magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), command: ['zstd', '-dc'] },
  { name: 'lz4', magic: Buffer.from([0x02, 0x21, 0x4c, 0x18]), command: ['lz4', '-dc'] },
  { name: 'bzip2', magic: Buffer.from('BZh'), command: ['bzip2', '-dc'] },
  { name: 'lzma', magic: Buffer.from([0x5d, 0x00, 0x00]), command: ['xz', '--format=lzma', '-dc'] },
];

export function readKernelImage(path: string): KernelImage {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new KernelImageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseKernelImage(buf, path);
}

export function parseKernelImage(buf: Buffer, what: string): KernelImage {
  if (buf.length >= 4 && buf.readUInt32BE(0) === 0x7f454c46) return fromElf(buf, what);
  if (buf.length > 0x250 && buf.toString('latin1', 0x202, 0x206) === 'HdrS') return fromBzImage(buf, what);
  if (buf.length > 0x40 && buf.toString('latin1', 0x38, 0x3c) === 'ARMd') return fromRawImage(buf, 'aarch64', 'arm64 Image');
  if (buf.length > 2 && buf.readUInt16LE(0) === BTF_MAGIC) {
    const image = withBtf(buf, 0, hostArch(), 'BTF');
    return image;
  }
  const c = COMPRESSORS.find((x) => buf.subarray(0, x.magic.length).equals(x.magic));
  if (c) {
    const inner = parseKernelImage(decompress(buf, c, what), what);
    return { ...inner, format: `${c.name} -> ${inner.format}` };
  }
  throw new KernelImageError(`${what} is not a kernel image this can read (ELF vmlinux, x86 bzImage, arm64 Image, gzip of one, or raw BTF)`);
}

function hostArch(): KernelProfile['arch'] {
  return process.arch === 'arm64' ? 'aarch64' : 'x86_64';
}

function decompress(buf: Buffer, c: (typeof COMPRESSORS)[number], what: string): Buffer {
  if (!c.command) return gunzipSync(buf, { finishFlush: 2 /* Z_SYNC_FLUSH: tolerate trailing bytes */ });
  const r = spawnSync(c.command[0]!, c.command.slice(1), { input: buf, maxBuffer: 1 << 30 });
  if (r.error) throw new KernelImageError(`cannot run ${c.command[0]} to inflate ${what}: ${r.error.message}`);
  // The kernel's own decompressors ignore what follows the stream (bzImage appends its size), as extract-vmlinux does.
  if (r.stdout.length === 0) throw new KernelImageError(`${c.command.join(' ')} produced nothing for ${what}: ${r.stderr.toString().trim()}`);
  return r.stdout;
}

/** x86 boot protocol: the compressed kernel is at payload_offset past the real-mode setup sectors. */
function fromBzImage(buf: Buffer, what: string): KernelImage {
  const setupSects = buf[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + buf.readUInt32LE(0x248);
  const length = buf.readUInt32LE(0x24c);
  const payload = buf.subarray(start, start + length);
  const c = COMPRESSORS.find((x) => payload.subarray(0, x.magic.length).equals(x.magic));
  if (!c) throw new KernelImageError(`${what}: the bzImage payload has an unknown compression (starts ${payload.subarray(0, 6).toString('hex')})`);
  const inner = parseKernelImage(decompress(payload, c, what), what);
  return { ...inner, format: `bzImage (${c.name}) -> ${inner.format}` };
}

interface Section {
  name: string;
  type: number;
  offset: number;
  size: number;
}

function elfSections(buf: Buffer): Section[] {
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  const raw = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return { nameOff: buf.readUInt32LE(at), type: buf.readUInt32LE(at + 4), offset: Number(buf.readBigUInt64LE(at + 24)), size: Number(buf.readBigUInt64LE(at + 32)) };
  });
  const strtab = raw[shstrndx];
  return raw.map((s) => ({ ...s, name: strtab ? buf.toString('latin1', strtab.offset + s.nameOff, buf.indexOf(0, strtab.offset + s.nameOff)) : '' }));
}

function fromElf(buf: Buffer, what: string): KernelImage {
  if (buf[4] !== 2 || buf[5] !== 1) throw new KernelImageError(`${what} is not a 64-bit little-endian ELF`);
  const machine = buf.readUInt16LE(0x12);
  const arch = machine === EM_X86_64 ? 'x86_64' : machine === EM_AARCH64 ? 'aarch64' : undefined;
  if (!arch) throw new KernelImageError(`${what}: ELF machine ${machine} is neither x86_64 nor aarch64`);
  const sections = elfSections(buf);
  const btf = sections.find((s) => s.name === '.BTF');
  if (!btf) throw new KernelImageError(`${what} has no .BTF section (a kernel built without CONFIG_DEBUG_INFO_BTF)`);
  const buildId = sections
    .filter((s) => s.type === SHT_NOTE)
    .map((s) => gnuBuildId(parseNotes(buf.subarray(s.offset, s.offset + s.size))))
    .find((id) => id !== undefined);
  return { ...withBtf(buf, btf.offset, arch, 'ELF'), ...(buildId ? { buildId } : {}), ...banner(buf), memory: ImageMemory.fromElf(buf) };
}

/** An arm64 Image is the kernel's memory image without ELF headers: find BTF and the build-id note by their shapes. */
function fromRawImage(buf: Buffer, arch: KernelProfile['arch'], format: string): KernelImage {
  let at = -1;
  const magic = Buffer.from([0x9f, 0xeb, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00]);
  while ((at = buf.indexOf(magic, at + 1)) !== -1) if (btfLength(buf, at) !== undefined) break;
  if (at === -1) throw new KernelImageError(`no BTF in this ${format} (a kernel built without CONFIG_DEBUG_INFO_BTF)`);
  // namesz 4, descsz 20, type NT_GNU_BUILD_ID, "GNU\0": the kernel's .notes keeps one.
  const note = buf.indexOf(Buffer.from('040000001400000003000000474e5500', 'hex'));
  const buildId = note === -1 ? undefined : buf.toString('hex', note + 16, note + 36);
  const memory = ImageMemory.fromRawImage(buf);
  return { ...withBtf(buf, at, arch, format), ...(buildId ? { buildId } : {}), ...banner(buf), ...(memory ? { memory } : {}) };
}

function withBtf(buf: Buffer, at: number, arch: KernelProfile['arch'], format: string): KernelImage {
  const len = btfLength(buf, at);
  if (len === undefined) throw new KernelImageError(`the BTF in this ${format} has a broken header`);
  const btf = buf.subarray(at, at + len);
  return { arch, btf, btfSha256: createHash('sha256').update(btf).digest('hex'), format };
}

/** `Linux version RELEASE (builder) (compiler) VERSION`: linux_banner, what /proc/version prints. */
function banner(buf: Buffer): { release?: string; version?: string } {
  let at = -1;
  while ((at = buf.indexOf('Linux version ', at + 1, 'latin1')) !== -1) {
    const end = buf.indexOf(0, at);
    const m = /^Linux version (\S+) \(.*?\) (#\d+ [^\n]*)\n?$/.exec(buf.toString('latin1', at, end));
    if (m) return { release: m[1]!, version: m[2]! };
  }
  return {};
}
