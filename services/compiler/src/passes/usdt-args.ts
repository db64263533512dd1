/**
 * USDT argument specs (`.note.stapsdt`, as the assembler wrote them for x86-64):
 * `-4@%edi`, `8@%rax`, `8@-16(%rbp)`, `4@(%rdx)`, `-8@$42`. Lowered straight to reads of
 * the probe's `struct pt_regs` (registers) or of user memory, as bpftrace does, instead
 * of libbpf's usdt.bpf.h, which looks the spec up by instruction pointer on every hit.
 * Anything else (RIP-relative globals such as PostgreSQL's `-4@NBuffers(%rip)`, index
 * registers) is `unreadable`: libbpf 1.1's usdt.bpf.h rejects a site with such an argument
 * at attach (EINVAL), so falling back would lose the whole probe. Read directly, the other
 * arguments still work and only a script that reads that one fails, at compile time.
 */
export type UsdtArgLocation =
  | { kind: 'reg'; reg: string }
  | { kind: 'mem'; reg: string; offset: number }
  | { kind: 'imm'; value: bigint }
  | { kind: 'unreadable'; text: string };

export interface UsdtArgSpec {
  size: 1 | 2 | 4 | 8;
  signed: boolean;
  loc: UsdtArgLocation;
}

/** x86-64 register names (any width) -> the field of the UAPI struct pt_regs (<linux/ptrace.h>) holding them. */
const REGS: Record<string, string> = {};
for (const [field, names] of Object.entries({
  rax: ['rax', 'eax', 'ax', 'al'], rbx: ['rbx', 'ebx', 'bx', 'bl'], rcx: ['rcx', 'ecx', 'cx', 'cl'], rdx: ['rdx', 'edx', 'dx', 'dl'],
  rsi: ['rsi', 'esi', 'si', 'sil'], rdi: ['rdi', 'edi', 'di', 'dil'], rbp: ['rbp', 'ebp', 'bp', 'bpl'], rsp: ['rsp', 'esp', 'sp', 'spl'],
  ...Object.fromEntries([8, 9, 10, 11, 12, 13, 14, 15].map((n) => [`r${n}`, [`r${n}`, `r${n}d`, `r${n}w`, `r${n}b`]])),
})) for (const n of names) REGS[n] = field;

export function parseUsdtArg(text: string): UsdtArgSpec | undefined {
  const m = /^(-?)(1|2|4|8)@(.+)$/.exec(text);
  if (!m) return undefined;
  const size = Number(m[2]) as UsdtArgSpec['size'];
  const signed = m[1] === '-';
  const where = m[3]!;
  let r: RegExpExecArray | null;
  if ((r = /^%([a-z0-9]+)$/.exec(where))) return REGS[r[1]!] ? { size, signed, loc: { kind: 'reg', reg: REGS[r[1]!]! } } : undefined;
  if ((r = /^\$(-?[0-9]+)$/.exec(where))) return { size, signed, loc: { kind: 'imm', value: BigInt(r[1]!) } };
  if ((r = /^(-?[0-9]+)?\(%([a-z0-9]+)\)$/.exec(where))) return REGS[r[2]!] ? { size, signed, loc: { kind: 'mem', reg: REGS[r[2]!]!, offset: Number(r[1] ?? 0) } } : undefined;
  return undefined;
}

/** Every argument of a site; one that cannot be read directly is kept as `unreadable`. */
export function parseUsdtArgs(spec: string): UsdtArgSpec[] {
  const parts = spec.trim() === '' ? [] : spec.trim().split(/\s+/);
  return parts.map((p) => parseUsdtArg(p) ?? { size: 8, signed: false, loc: { kind: 'unreadable', text: p } });
}

const C_TYPE: Record<string, string> = { '1s': '__s8', '1u': '__u8', '2s': '__s16', '2u': '__u16', '4s': '__s32', '4u': '__u32', '8s': '__s64', '8u': '__u64' };

/** C statements that set `long <name>` to the argument, widened by its size and signedness. */
export function usdtArgC(a: UsdtArgSpec, name: string): string {
  const t = C_TYPE[`${a.size}${a.signed ? 's' : 'u'}`]!;
  switch (a.loc.kind) {
    case 'imm':
      return `\tlong ${name} = (long)(${t})${a.loc.value}LL;`;
    case 'reg':
      return `\tlong ${name} = (long)(${t})ctx->${a.loc.reg};`;
    case 'mem':
      return `\tlong ${name} = 0;\n\t{ ${t} tf_v = 0; bpf_probe_read_user(&tf_v, sizeof(tf_v), (const void *)(ctx->${a.loc.reg} + (${a.loc.offset}))); ${name} = (long)tf_v; }`;
    case 'unreadable':
      // The type checker rejects every read of it first.
      throw new Error(`USDT argument '${a.loc.text}' cannot be read`);
  }
}
