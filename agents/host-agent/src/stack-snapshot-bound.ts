import { mergeEqualKeys } from '@tapfleet/runner';
import type { AggEntry, MapLayout, StackKey } from '@tapfleet/schemas';

/**
 * Key text one stack-keyed map may publish per snapshot. A symbolised stack is a few KB of
 * text, and a snapshot over NATS's 1 MB max_payload is not published at all: a host-wide
 * profile keeps its hottest stacks and folds the rest into one entry, never the whole map lost.
 */
export const MAX_STACK_KEY_BYTES = 384 * 1024;

/** Text that replaces each stack of the entries folded together, with how many stacks they were. */
export const otherStacks = (n: number) => `[${n} other stacks: this host's snapshot kept its hottest]`;

/** Keeps the hottest entries whose keys fit `maxBytes`; the rest merge into one "other stacks" entry. */
export function boundStackEntries(kind: MapLayout['kind'], stackKeys: StackKey[], entries: AggEntry[], maxBytes = MAX_STACK_KEY_BYTES): AggEntry[] {
  const size = (e: AggEntry) => e.key.reduce((n, k) => n + String(k).length, 0);
  if (entries.reduce((n, e) => n + size(e), 0) <= maxBytes) return entries;
  const hottest = [...entries].sort((a, b) => (b.value > a.value ? 1 : b.value < a.value ? -1 : 0));
  const kept: AggEntry[] = [];
  let used = 0;
  let i = 0;
  for (; i < hottest.length && used + size(hottest[i]!) <= maxBytes; i++) {
    used += size(hottest[i]!);
    kept.push(hottest[i]!);
  }
  const rest = hottest.slice(i);
  const label = otherStacks(rest.length);
  // Stack positions say "other stacks"; the map's other keys stay, so per-comm totals survive.
  const folded = rest.map((e) => ({ ...e, key: e.key.map((k, j) => (stackKeys.some((s) => s.index === j) ? label : k)) }));
  return [...kept, ...mergeEqualKeys(kind, folded)];
}
