import type { Expr, Stmt } from '../ast.js';

/**
 * What a `begin`, `end` or `interval` probe cannot do, said exactly. Their print(), clear(),
 * printf() and exit() run in user space (the runner's owner, on a timer or at start and stop).
 * A `begin` probe's map writes ($locals, if, `@x = ...`, aggregations, delete()) are compiled
 * into a BPF program the runner runs once before the probes attach, as bpftrace runs BEGIN;
 * `end` and `interval` have no such program yet, so `interval:s:1 { @n = 0; }` is refused,
 * naming what does work in the same place.
 */
export const USER_SIDE_STATEMENTS = new Set<Stmt['kind']>(['print', 'clear', 'printf', 'exit']);
/** What a begin probe's BPF program runs. */
export const BEGIN_KERNEL_STATEMENTS = new Set<Stmt['kind']>(['let', 'if', 'assign', 'agg', 'delete']);

type Kind = 'begin' | 'end' | 'interval';

const isZero = (e: Expr) => (e.kind === 'int' && e.value === 0n) || (e.kind === 'string' && e.value === '');

export function userSideRefusal(kind: Kind, s: Stmt): { message: string; hint: string } {
  const head = `${kind} probes run in user space and may only print() or clear() maps, printf() constants and exit()`;
  const map = 'map' in s ? s.map : undefined;
  switch (s.kind) {
    case 'assign':
    case 'agg': {
      const what = s.kind === 'agg' ? `${map} = ${s.call.fn}()` : `${map} = ...`;
      const message = `${head}: writing a map (${what}) there is not supported yet (a begin probe can)`;
      if (s.kind === 'assign' && isZero(s.value))
        return { message, hint: `an absent value already reads 0 (or "") as in bpftrace, so clear(${map}) resets it here` };
      return { message, hint: `write ${map} in a kernel probe (tracepoint:, uprobe:, usdt:, profile:) or in begin; here clear(${map}) empties it and print(${map}) shows it` };
    }
    case 'delete':
      return { message: `${head}: delete() of one key is not supported there yet (a begin probe can)`, hint: `clear(${map}) empties the whole map here; delete single keys in a kernel probe` };
    case 'emit':
      return { message: `${head}: emit is not supported there`, hint: 'emit events from a kernel probe; printf("...") prints a constant line here' };
    default:
      return { message: `${head}: ${s.kind === 'let' ? '$locals' : 'if'} ${s.kind === 'let' ? 'are' : 'is'} not supported there (a begin probe can)`, hint: 'compute in a kernel probe or in begin; here only constants (and $1, $2, ... parameters) can be printed' };
  }
}
