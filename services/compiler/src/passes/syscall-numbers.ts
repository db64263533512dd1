import { existsSync, readFileSync } from 'node:fs';

/**
 * x86-64 syscall numbers (`__NR_*` from the kernel's UAPI header, an ABI that never
 * changes for existing calls). They let `tracepoint:syscalls:sys_enter_X` compile to a
 * raw tracepoint on `sys_enter` filtered by number: that skips the record the classic
 * syscall tracepoint fills before every program run (most of its cost).
 */
const HEADER = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';

let table: Map<string, number> | undefined;

export function syscallNumber(name: string): number | undefined {
  if (!table) {
    table = new Map();
    if (existsSync(HEADER))
      for (const m of readFileSync(HEADER, 'utf8').matchAll(/^#define __NR_([a-z0-9_]+)\s+([0-9]+)\s*$/gm)) table.set(m[1]!, Number(m[2]));
  }
  return table.get(name);
}

/** The registers syscall arguments arrive in on x86-64, in order (fields after `__syscall_nr`). */
export const SYSCALL_ARG_REGS = ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'] as const;
