import type { StackMap } from '@tapfleet/schemas';
import type { Expr } from '../ast.js';
import type { Diagnostics } from '../diagnostics.js';
import type { Type } from '../types.js';

/** Frames bpftrace keeps by default, and the kernel's perf_event_max_stack: the most a stack map may hold. */
export const MAX_STACK_DEPTH = 127;
/**
 * Stacks one stack map holds. The kernel preallocates every slot (depth x 8 bytes each, ~1 KiB
 * at 127 frames) and hashes stacks into as many buckets, so a new stack whose bucket is taken
 * is refused (-EEXIST): counted and shown, never silently merged into another stack.
 */
export const STACK_MAP_ENTRIES = 4096;

/** Stack maps per bundle: each kind and depth preallocates up to 4 MiB of kernel memory. */
export const MAX_STACK_MAPS = 4;

export const isStackName = (name: string) => name === 'kstack' || name === 'ustack';

/** The BPF object's stack-trace map for one kind and depth: scripts using kstack(5) and kstack share nothing. */
export const stackMapName = (t: { user: boolean; depth: number }) => `tf_stack_${t.user ? 'u' : 'k'}${t.depth}`;

/** Types `kstack`, `ustack`, `kstack(N)`, `ustack(N)`; reports a bad depth at its argument. */
export function stackType(e: Extract<Expr, { kind: 'builtin' | 'call' }>, diags: Diagnostics): Type {
  const user = e.name === 'ustack';
  if (e.kind === 'builtin') return { kind: 'stack', user, depth: MAX_STACK_DEPTH };
  const n = e.args[0];
  if (e.args.length !== 1 || !n) {
    diags.error(e.span, `${e.name}() takes one constant depth: ${e.name}(N), or ${e.name} alone for ${MAX_STACK_DEPTH} frames`, "bpftrace's stack modes (perf, raw) are not supported: frames print as bpftrace's default mode does");
    return { kind: 'stack', user, depth: MAX_STACK_DEPTH };
  }
  if (n.kind !== 'int' || n.value < 1n || n.value > BigInt(MAX_STACK_DEPTH)) {
    diags.error(n.span, `the depth of ${e.name}() must be a constant from 1 to ${MAX_STACK_DEPTH}`, `the kernel keeps at most ${MAX_STACK_DEPTH} frames (perf_event_max_stack)`);
    return { kind: 'stack', user, depth: MAX_STACK_DEPTH };
  }
  return { kind: 'stack', user, depth: Number(n.value) };
}

/** The stack maps a set of stack types needs, one per (kind, depth), in a stable order. */
export function stackMapsFor(types: Iterable<Extract<Type, { kind: 'stack' }>>): StackMap[] {
  const byName = new Map<string, StackMap>();
  for (const t of types) byName.set(stackMapName(t), { name: stackMapName(t), user: t.user, depth: t.depth, maxEntries: STACK_MAP_ENTRIES });
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}
