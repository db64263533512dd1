import type { KernelProfile, TracepointField } from '@tapfleet/schemas';
import { BtfKind, type Btf } from './btf.js';

/**
 * syscalls:sys_enter_<name> / sys_exit_<name> are not trace events with a record struct of
 * their own: every one writes `struct syscall_trace_enter` (entry, `__syscall_nr`, then one
 * unsigned long per argument) or `struct syscall_trace_exit` (entry, `__syscall_nr`, `long ret`).
 * tracefs lists each argument as an 8-byte unsigned field named as in SYSCALL_DEFINE; BTF has
 * those names only where the compiler kept `__do_sys_<name>` (or `__se_sys_<name>`) out of line.
 */

/** The syscall entry point each architecture's table points at (its BTF prototype is `(const struct pt_regs *)`). */
const STUB_PREFIX: Record<KernelProfile['arch'], string> = { x86_64: '__x64_sys_', aarch64: '__arm64_sys_' };

export type SyscallLayout = { fields: TracepointField[] } | { reason: string };

export class SyscallLayouts {
  constructor(private readonly btf: Btf, private readonly arch: KernelProfile['arch']) {}

  /**
   * Whether this kernel defines the syscall: its entry stub, or (x86's SYSCALL_DEFINE0 makes the
   * stub an alias, which BTF does not list) its __do_sys_ body.
   */
  has(name: string): boolean {
    return [STUB_PREFIX[this.arch], '__do_sys_', '__se_sys_'].some((p) => this.btf.find(BtfKind.Func, p + name) !== undefined);
  }

  enter(name: string): SyscallLayout {
    const head = this.head('syscall_trace_enter');
    if ('reason' in head) return head;
    const params = this.btf.funcParams(`__do_sys_${name}`) ?? this.btf.funcParams(`__se_sys_${name}`);
    if (!params) return { reason: `its argument names are not in BTF (__do_sys_${name} was inlined)` };
    const fields = [...head.fields];
    // x86's SYSCALL_DEFINE0 gives __do_sys_<name> one unused `const struct pt_regs *__unused`: no arguments.
    if (params.length === 1 && params[0]!.name === '__unused') return { fields };
    params.forEach((p, i) => {
      // Every argument is stored as an unsigned long, whatever its C type (trace_syscalls.c).
      fields.push({ decl: this.btf.declare(p.type, p.name), name: p.name, offset: head.argsAt + 8 * i, size: 8, signed: false });
    });
    return { fields };
  }

  /** From the syscall's metadata (SYSCALL_DEFINE's own argument types and names, as tracefs prints them). */
  enterFrom(args: { type: string; name: string }[]): SyscallLayout {
    const head = this.head('syscall_trace_enter');
    if ('reason' in head) return head;
    return { fields: [...head.fields, ...args.map((a, i) => ({ decl: `${a.type} ${a.name}`, name: a.name, offset: head.argsAt + 8 * i, size: 8, signed: false }))] };
  }

  exit(): SyscallLayout {
    const head = this.head('syscall_trace_exit');
    if ('reason' in head) return head;
    return { fields: [...head.fields, { decl: 'long ret', name: 'ret', offset: head.argsAt, size: 8, signed: true }] };
  }

  /** The common fields and `__syscall_nr` of a syscall record struct, and where its payload starts. */
  private head(struct: 'syscall_trace_enter' | 'syscall_trace_exit'): { fields: TracepointField[]; argsAt: number } | { reason: string } {
    const s = this.btf.find(BtfKind.Struct, struct);
    const ent = s?.members?.find((m) => m.name === 'ent');
    const nr = s?.members?.find((m) => m.name === 'nr');
    const payload = s?.members?.[2];
    if (!s || !ent || !nr || !payload) return { reason: `struct ${struct} is not in BTF` };
    const fields: TracepointField[] = [];
    for (const m of this.btf.strip(ent.type).members ?? []) {
      const name = `common_${m.name}`;
      fields.push({ decl: this.btf.declare(m.type, name), name, offset: (ent.bitOffset + m.bitOffset) / 8, size: this.btf.sizeOf(m.type) ?? 0, signed: this.btf.isSigned(m.type) });
    }
    fields.push({ decl: 'int __syscall_nr', name: '__syscall_nr', offset: nr.bitOffset / 8, size: 4, signed: true });
    return { fields, argsAt: payload.bitOffset / 8 };
  }
}
