import type { Expr, Stmt } from '../ast.js';

/**
 * What a `begin`, `end` or `interval` probe does where. Its print(), clear() and exit() run in
 * user space (the runner's owner, at start and stop or on a timer). Its map writes ($locals, if,
 * `@x = ...`, aggregations, delete()) and its printf() calls are compiled into one BPF program
 * that the runner runs (BPF_PROG_TEST_RUN): a begin probe's once before the probes attach, as
 * bpftrace runs BEGIN, an end or interval probe's at each firing before the user-space part. A
 * printf() there sends a record as in a kernel probe, which its owner prints in statement order
 * with the print() calls around it. Only emit is refused.
 */
export const USER_SIDE_STATEMENTS = new Set<Stmt['kind']>(['print', 'clear', 'exit']);
/** What a user-side probe's BPF program runs. */
export const USER_SIDE_PROGRAM_STATEMENTS = new Set<Stmt['kind']>(['let', 'if', 'assign', 'agg', 'delete', 'printf']);

type Kind = 'begin' | 'end' | 'interval';

/**
 * A begin/end/interval body up to its first top-level exit(): what follows never runs, as in
 * bpftrace 0.17, whose exit() ends the probe's run (`BEGIN { exit(); @x = 5; printf(...) }` writes
 * and prints nothing). The program would otherwise run the writes and printf() calls after it,
 * and the owner the print() calls. Still type-checked in full, as bpftrace checks them.
 */
export function bodyUntilExit(body: Stmt[]): Stmt[] {
  const exit = body.findIndex((s) => s.kind === 'exit');
  return exit < 0 ? body : body.slice(0, exit + 1);
}

export const isZeroValue = (e: Expr) => (e.kind === 'int' && e.value === 0n) || (e.kind === 'string' && e.value === '');

/** The one statement a user-side probe refuses: emit (its events would come from no traced process). */
export function userSideRefusal(kind: Kind, s: Stmt): { message: string; hint: string } {
  return { message: `${kind} probes may write maps, print() or clear() them, printf() and exit(): ${s.kind} is not supported there`, hint: 'emit events from a kernel probe; printf("...") prints a line here' };
}
