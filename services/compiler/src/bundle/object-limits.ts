import type { Diagnostics } from '../diagnostics.js';
import { LIMITS } from '../limits.js';
import type { ProgramInfo } from '../passes/lower.js';

const SHT_SYMTAB = 2;
const STT_FUNC = 2;
const BPF_INSN_BYTES = 8;

/** Sizes in bytes of the function symbols of a little-endian ELF64 object (llvm-strip -g keeps .symtab). */
export function functionSizes(elf: Buffer): Map<string, number> {
  const out = new Map<string, number>();
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return out;
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { type: elf.readUInt32LE(at + 4), offset: Number(elf.readBigUInt64LE(at + 24)), size: Number(elf.readBigUInt64LE(at + 32)), link: elf.readUInt32LE(at + 40), entsize: Number(elf.readBigUInt64LE(at + 56)) };
  };
  for (let i = 0; i < shnum; i++) {
    const sym = section(i);
    if (sym.type !== SHT_SYMTAB || sym.entsize === 0) continue;
    const strtab = section(sym.link);
    for (let at = sym.offset; at + sym.entsize <= sym.offset + sym.size; at += sym.entsize) {
      if ((elf[at + 4]! & 0xf) !== STT_FUNC) continue;
      const nameAt = strtab.offset + elf.readUInt32LE(at);
      const name = elf.toString('latin1', nameAt, elf.indexOf(0, nameAt));
      out.set(name, Number(elf.readBigUInt64LE(at + 16)));
    }
  }
  return out;
}

/**
 * Pass over the built object: a program longer than the kernel loads (BPF_COMPLEXITY_LIMIT_INSNS,
 * E2BIG at load on every host) is refused here, at the probe point it implements.
 */
export function checkObjectLimits(object: Buffer, programs: ProgramInfo[], diags: Diagnostics, maxInstructions: number = LIMITS.maxInstructionsPerProgram): void {
  const sizes = functionSizes(object);
  for (const p of programs) {
    const insns = (sizes.get(p.name) ?? 0) / BPF_INSN_BYTES;
    if (insns > maxInstructions)
      diags.error(p.span, `this probe compiles to ${insns} BPF instructions, more than the kernel loads (${maxInstructions})`, 'split its work across probes, or shorten string comparisons and reads');
    else if (insns > LIMITS.maxJumpSpanInstructions)
      diags.error(p.span, `this probe compiles to ${insns} BPF instructions; a BPF jump spans at most ${LIMITS.maxJumpSpanInstructions} and clang wraps a longer one silently, so this program could branch wrongly`, 'split its work across probes (each probe is its own program)');
  }
}
