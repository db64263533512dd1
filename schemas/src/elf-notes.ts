/** ELF notes: read by the runner (binaries' build-ids, USDT notes) and by the compiler (a kernel image's build-id), so below both. */
/** One ELF note (as in /sys/kernel/notes, .note.gnu.build-id, .note.stapsdt). */
export interface ElfNote {
  name: string;
  type: number;
  desc: Buffer;
}

const align4 = (n: number) => (n + 3) & ~3;

/** Parses a run of ELF notes (4-byte aligned, as on x86_64 and aarch64). */
export function parseNotes(buf: Buffer): ElfNote[] {
  const notes: ElfNote[] = [];
  let at = 0;
  while (at + 12 <= buf.length) {
    const namesz = buf.readUInt32LE(at);
    const descsz = buf.readUInt32LE(at + 4);
    const type = buf.readUInt32LE(at + 8);
    const nameStart = at + 12;
    const descStart = nameStart + align4(namesz);
    if (descStart + descsz > buf.length) break;
    notes.push({ name: buf.toString('latin1', nameStart, nameStart + Math.max(0, namesz - 1)), type, desc: buf.subarray(descStart, descStart + descsz) });
    at = descStart + align4(descsz);
  }
  return notes;
}

export const NT_GNU_BUILD_ID = 3;
export const NT_STAPSDT = 3;

export function gnuBuildId(notes: ElfNote[]): string | undefined {
  return notes.find((n) => n.name === 'GNU' && n.type === NT_GNU_BUILD_ID)?.desc.toString('hex');
}
