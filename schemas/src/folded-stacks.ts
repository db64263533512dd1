import type { StackKey } from './bundle-manifest.js';
import type { AggEntry } from './aggregation-entry.js';

/**
 * Folded stacks, the input of flamegraph.pl and speedscope: one line per stack,
 * `root;...;leaf COUNT`. A map's other keys (comm, pid) go first, as the root frames; a user
 * stack sits below a kernel one (the kernel ran for the user code that called it). Offsets are
 * dropped so samples fold per function, and equal lines are merged. The number is the value
 * (for hist/lhist the samples counted, for avg the values averaged).
 */
export function foldedLines(layout: { kind: string; stackKeys?: StackKey[] }, entries: AggEntry[]): string[] {
  const order = [...(layout.stackKeys ?? [])].sort((a, b) => Number(b.user) - Number(a.user));
  const isStack = (i: number) => order.some((s) => s.index === i);
  const totals = new Map<string, bigint>();
  for (const e of entries) {
    const roots = e.key.flatMap((k, i) => (isStack(i) ? [] : [String(k)]));
    const frames = order.flatMap(({ index }) => {
      const text = String(e.key[index]);
      return text === '' ? [] : text.split('\n').reverse().map(withoutOffset);
    });
    // A ';' would split a frame in two: function names never hold one, a comm may.
    const line = [...roots, ...frames].map((f) => f.replace(/;/g, ':')).join(';') || '[no stack]';
    const n = layout.kind === 'avg' || layout.kind === 'stats' ? e.count ?? 0n : e.value;
    totals.set(line, (totals.get(line) ?? 0n) + n);
  }
  return [...totals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([line, n]) => `${line} ${n}`);
}

/** `func+123` -> `func`; a hex frame or a lost-stack note stays as it is. */
function withoutOffset(frame: string): string {
  return frame.replace(/\+[0-9]+$/, '');
}
