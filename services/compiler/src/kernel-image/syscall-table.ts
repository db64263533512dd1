import { existsSync, readFileSync } from 'node:fs';
import type { KernelProfile } from '@tapfleet/schemas';

/**
 * Which syscalls an architecture's table has, by the name of their SYSCALL_DEFINE (the name
 * tracefs uses: syscalls:sys_enter_<name>). The kernel defines more syscalls than a given
 * architecture's table holds (arm64 has no open(2), yet fs/open.c defines it), and only those in
 * the table get tracepoints. An image holds its table only as addresses, so it comes from headers:
 * - aarch64: the generic table, asm-generic/unistd.h, as arm64 configures it (64-bit, not compat,
 *   and the __ARCH_WANT_* arm64's asm/unistd.h defines);
 * - x86_64: its table names entry points that x86's UAPI header does not (stat is sys_newstat),
 *   so the x86_64 names come from a reference kernel's tracefs listing (a newer kernel's table is
 *   a superset: syscall numbers are never reused, and syscall metadata decides which exist).
 */
const GENERIC_HEADER = '/usr/include/asm-generic/unistd.h';
const ARM64_WANTS = new Set(['__ARCH_WANT_RENAMEAT', '__ARCH_WANT_NEW_STAT', '__ARCH_WANT_SET_GET_RLIMIT', '__ARCH_WANT_TIME32_SYSCALLS', '__ARCH_WANT_SYS_CLONE3', '__ARCH_WANT_MEMFD_SECRET']);

export class SyscallTableError extends Error {
  readonly code = 'TAPFLEET_SYSCALL_TABLE';
}

export function syscallTable(arch: KernelProfile['arch'], referenceNames: readonly string[]): Set<string> | { reason: string } {
  if (arch === 'x86_64') {
    const names = referenceNames.flatMap((n) => /^syscalls:sys_enter_(.+)$/.exec(n)?.[1] ?? []);
    return names.length ? new Set(names) : { reason: 'the x86_64 table comes from a reference tracefs listing, and there is none here: run where tracefs is mounted, or give --names-from PROFILE (a profile of an x86_64 kernel at least as new, e.g. test/fixtures/kernels/host-*.json.gz)' };
  }
  if (!existsSync(GENERIC_HEADER)) return { reason: `${GENERIC_HEADER} (linux-libc-dev) is missing: it holds the arm64 syscall table` };
  return genericTable(readFileSync(GENERIC_HEADER, 'utf8'), ARM64_WANTS);
}

/** Entry names of asm-generic/unistd.h for a 64-bit, non-compat kernel defining `wants`. */
export function genericTable(header: string, wants: ReadonlySet<string>): Set<string> {
  const names = new Set<string>();
  const stack: boolean[] = [];
  const active = () => stack.every(Boolean);
  // Some entries continue on the next line (`__SC_3264(__NR_clock_nanosleep, ..., \` + newline).
  for (const raw of header.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^#ifdef\s+(\w+)/.exec(line))) stack.push(wants.has(m[1]!));
    else if ((m = /^#ifndef\s+(\w+)/.exec(line))) stack.push(!wants.has(m[1]!) && m[1] !== '__SYSCALL');
    else if ((m = /^#if\s+(.+)$/.exec(line))) stack.push(evaluate(m[1]!, wants));
    else if (line.startsWith('#else')) stack.push(!stack.pop());
    else if (line.startsWith('#endif')) stack.pop();
    else if (active() && (m = /^(__SYSCALL|__SC_3264|__SC_COMP|__SC_COMP_3264)\(([^)]*)\)/.exec(line))) {
      const args = m[2]!.split(',').map((s) => s.trim());
      // 64-bit, native: __SC_3264 and __SC_COMP_3264 take the _64 entry, __SC_COMP the native one.
      const entry = m[1] === '__SC_3264' || m[1] === '__SC_COMP_3264' ? args[2] : args[1];
      if (entry?.startsWith('sys_') && entry !== 'sys_ni_syscall') names.add(entry.slice(4));
    }
  }
  return names;
}

/** `#if` conditions in that header: `||` and `&&` of `[!]defined(X)` and `__BITS_PER_LONG ==/!= N`. */
function evaluate(expr: string, wants: ReadonlySet<string>): boolean {
  return expr.split('||').some((any) => any.split('&&').every((term) => {
    const t = term.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(!?)\s*defined\s*\(\s*(\w+)\s*\)$/.exec(t))) return wants.has(m[2]!) !== (m[1] === '!');
    if ((m = /^__BITS_PER_LONG\s*(==|!=)\s*(\d+)$/.exec(t))) return (m[1] === '==') === (Number(m[2]) === 64);
    throw new SyscallTableError(`unexpected condition in ${GENERIC_HEADER}: #if ${expr}`);
  }));
}
