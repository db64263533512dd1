import type { TxnShape } from '@tapfleet/schemas';
import type { Script } from '../ast.js';
import type { Diagnostics } from '../diagnostics.js';
import type { Lowered } from './lower.js';

/**
 * Checks the script's `hop` and `final` declarations against the events it emits and
 * returns the transaction shape the bundle manifest carries (undefined when none is
 * declared: the assembler then makes hops of consecutive events). Every event a hop or
 * `final` names must be emitted with a `txn` field, or it could never meet the others.
 */
export function txnShape(script: Script, lowered: Lowered, diags: Diagnostics): TxnShape | undefined {
  if (!script.hops.length && !script.finals.length) return undefined;
  const known = [...lowered.events.values()];
  const withTxn = known.filter((l) => l.txnField !== undefined).map((l) => l.name);
  const check = (ref: { name: string; span: Parameters<Diagnostics['error']>[0] }): boolean => {
    const layout = known.find((l) => l.name === ref.name);
    if (!layout) {
      const hint = withTxn.length ? `events with a txn field here: ${withTxn.join(', ')}` : 'emit events with a txn field, e.g. emit order_in { txn: arg0 }';
      diags.error(ref.span, `no event named '${ref.name}' is emitted by this script`, hint);
      return false;
    }
    if (layout.txnField === undefined) {
      diags.error(ref.span, `event '${ref.name}' has no txn field, so it belongs to no transaction`, `add the transaction key to its emit: emit ${ref.name} { txn: ..., ... }`);
      return false;
    }
    return true;
  };
  const hops: TxnShape['hops'] = [];
  const names = new Set<string>();
  for (const h of script.hops) {
    if (names.has(h.name)) {
      diags.error(h.span, `hop '${h.name}' is declared twice`, 'give each hop its own name');
      continue;
    }
    names.add(h.name);
    const ok = check(h.from) && check(h.to);
    if (ok && h.from.name === h.to.name) {
      diags.error(h.to.span, `hop '${h.name}' starts and ends at '${h.from.name}'`, "a hop spans two different events; an event's own duration is its latency field");
      continue;
    }
    if (ok) hops.push({ name: h.name, from: h.from.name, to: h.to.name });
  }
  const final = [...new Set(script.finals.flatMap((f) => f.events.filter(check).map((e) => e.name)))];
  if (hops.length > 64) diags.error(script.hops[64]!.span, 'a script declares at most 64 hops', 'declare the hops you chart; the rest are still in the events');
  if (final.length > 16) diags.error(script.finals[0]!.span, 'a script declares at most 16 final events');
  return { hops: hops.slice(0, 64), final: final.slice(0, 16) };
}
