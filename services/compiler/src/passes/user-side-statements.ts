import type { Expr, Stmt } from '../ast.js';

/**
 * What a `begin`, `end` or `interval` probe cannot do, said exactly. These probes run in user
 * space (the runner's owner, on a timer or at start and stop), not as BPF programs, so they have
 * no kernel context to compute in and no way to write a BPF map's value: bpftrace's
 * `BEGIN { @x = 1; }` and `interval:s:1 { @n = 0; }` are not supported yet. Each refusal names
 * what does work in the same place.
 */
export const USER_SIDE_STATEMENTS = new Set<Stmt['kind']>(['print', 'clear', 'printf', 'exit']);

type Kind = 'begin' | 'end' | 'interval';

const isZero = (e: Expr) => (e.kind === 'int' && e.value === 0n) || (e.kind === 'string' && e.value === '');

export function userSideRefusal(kind: Kind, s: Stmt): { message: string; hint: string } {
  const head = `${kind} probes run in user space and may only print() or clear() maps, printf() constants and exit()`;
  const map = 'map' in s ? s.map : undefined;
  switch (s.kind) {
    case 'assign':
    case 'agg': {
      const what = s.kind === 'agg' ? `${map} = ${s.call.fn}()` : `${map} = ...`;
      const message = `${head}: writing a map (${what}) there is not supported yet`;
      if (s.kind === 'assign' && isZero(s.value))
        return { message, hint: `an absent value already reads 0 (or "") as in bpftrace, so ${kind === 'begin' ? 'an initial 0 needs no statement' : `clear(${map}) resets it here`}` };
      if (kind === 'begin')
        return { message, hint: `an absent value reads 0 (or ""); a constant from the command line can be used where it is read ($1 in the kernel probe), or write ${map} in a kernel probe (tracepoint:, uprobe:, usdt:, profile:)` };
      return { message, hint: `write ${map} in a kernel probe (tracepoint:, uprobe:, usdt:, profile:); here clear(${map}) empties it and print(${map}) shows it` };
    }
    case 'delete':
      return { message: `${head}: delete() of one key is not supported there yet`, hint: `clear(${map}) empties the whole map here; delete single keys in a kernel probe` };
    case 'emit':
      return { message: `${head}: emit is not supported there`, hint: 'emit events from a kernel probe; printf("...") prints a constant line here' };
    default:
      return { message: `${head}: ${s.kind === 'let' ? '$locals' : 'if'} ${s.kind === 'let' ? 'are' : 'is'} not supported there`, hint: 'compute in a kernel probe; here only constants (and $1, $2, ... parameters) can be printed' };
  }
}
