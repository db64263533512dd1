import type { Expr, Probe, Stmt } from '../ast.js';
import type { Diagnostics } from '../diagnostics.js';
import { LIMITS } from '../limits.js';
import type { Span } from '../source.js';
import { INT, str, typeName, type Type, type ValueType } from '../types.js';
import type { MapInfo } from './typecheck.js';

/**
 * Typing of value maps (`@m[KEYS] = EXPR`, `@m[KEYS]` read, `delete(@m[KEYS])`), kept apart from
 * the aggregation rules in typecheck.ts. A value map holds one integer (read as signed, as
 * bpftrace does) or one bounded string per key; a map is either a value map or an aggregation.
 */

const where = (s: Span) => {
  const { line, col } = s.source.position(s.start);
  return `${line}:${col}`;
};

/** The value type a map stores for an assigned expression of type `t`: integers widen to signed 64 bits. */
const stored = (t: Extract<Type, { kind: 'int' | 'str' }>): ValueType => (t.kind === 'int' ? INT : str(Math.min(t.size, LIMITS.maxStringBytes)));

/** Keys given to `map` (assigned, read or deleted) must match the key types it was first used with. */
export function checkKeys(m: MapInfo, keyTypes: Type[], span: Span, diags: Diagnostics): boolean {
  if (m.keyTypes.length === keyTypes.length && m.keyTypes.every((t, i) => t.kind === keyTypes[i]!.kind)) return true;
  const shape = (ts: Type[]) => (ts.length ? `[${ts.map(typeName).join(', ')}]` : 'no key');
  diags.error(span, `${m.name} is keyed by ${shape(m.keyTypes)} at ${where(m.span)}, here by ${shape(keyTypes)}`, `use ${m.name} with the same keys everywhere${m.keyTypes.length ? `, e.g. ${m.name}[${m.keyTypes.map((t) => (t.kind === 'str' ? 'comm' : 'tid')).join(', ')}]` : ''}`);
  return false;
}

/** `@m[KEYS] = VALUE`: declares the value map on first assignment, widens a string value to the longest assigned. */
export function assignValue(maps: Map<string, MapInfo>, s: Extract<Stmt, { kind: 'assign' }>, keyTypes: Type[], value: Type, diags: Diagnostics): void {
  if (value.kind === 'stack') {
    diags.error(s.value.span, `a stack is a map key, not a value: ${s.map} cannot hold ${typeName(value)}`, `count it instead: ${s.map.length > 1 ? s.map : '@'}[${value.user ? 'ustack' : 'kstack'}] = count();`);
    return;
  }
  const prev = maps.get(s.map);
  if (!prev) {
    maps.set(s.map, { name: s.map, kind: 'value', keyTypes, valueType: stored(value), span: s.span });
    return;
  }
  if (prev.kind !== 'value') {
    diags.error(s.span, `${s.map} holds ${prev.kind}() (at ${where(prev.span)}), so it cannot also be assigned a value`, `an aggregation is per-CPU and summed in user space; keep the value in another map, e.g. ${s.map}_last${s.keys.length ? '[...]' : ''} = ...`);
    return;
  }
  if (!checkKeys(prev, keyTypes, s.span, diags)) return;
  const was = prev.valueType!;
  if (was.kind !== value.kind) {
    diags.error(s.value.span, `${s.map} holds ${was.kind === 'int' ? 'integers' : 'strings'} (assigned at ${where(prev.span)}), not ${typeName(value)}`, 'one map holds one type of value: use another map for the other');
    return;
  }
  if (was.kind === 'str' && value.kind === 'str' && value.size > was.size) prev.valueType = stored(value);
}

/**
 * `@m[KEYS]` in an expression: the stored value, 0 or "" when the key is absent. `known` is
 * the map as far as typing has seen it (or as a first pass saw it, for a read that comes
 * before the map's first assignment in the script).
 */
export function readValue(known: MapInfo | undefined, e: Extract<Expr, { kind: 'mapread' }>, keyTypes: Type[], diags: Diagnostics): Type {
  if (!known) return INT; // reported once all probes are typed: the map may be assigned further down
  if (known.kind !== 'value') {
    diags.error(e.span, `${e.map} holds ${known.kind}() (at ${where(known.span)}): an aggregation cannot be read in a probe`, `it is per-CPU and merged in user space; keep a value map next to it, e.g. ${e.map}_n${keyTypes.length ? '[...]' : ''}++`);
    return INT;
  }
  checkKeys(known, keyTypes, e.span, diags);
  return known.valueType!;
}

/** Reads of maps no statement assigns: one diagnostic per map, at its first read. */
export function unassignedReads(reads: { name: string; span: Span }[], maps: Map<string, MapInfo>, diags: Diagnostics): void {
  const reported = new Set<string>();
  for (const r of reads) {
    if (maps.has(r.name) || reported.has(r.name)) continue;
    reported.add(r.name);
    diags.error(r.span, `${r.name} is read but never assigned in this script`, `assign it in some probe first, e.g. ${r.name}[tid] = nsecs; (an unassigned map would always read 0)`);
  }
}

/**
 * Whether some map is read (in source order of probes and statements) before any statement
 * assigns it: then typing needs a first pass to learn the map's value type.
 */
export function hasForwardReads(probes: Pick<Probe, 'predicate' | 'body'>[]): boolean {
  const assigned = new Set<string>();
  let forward = false;
  const visit = (e: Expr): void => {
    switch (e.kind) {
      case 'mapread':
        if (!assigned.has(e.map)) forward = true;
        e.keys.forEach(visit);
        break;
      case 'entry': case 'unary': visit(e.expr); break;
      case 'binary': visit(e.left); visit(e.right); break;
      case 'ternary': visit(e.cond); visit(e.then); visit(e.else); break;
      case 'cast': visit(e.expr); break;
      case 'call': e.args.forEach(visit); break;
      default: break;
    }
  };
  const stmt = (s: Stmt): void => {
    switch (s.kind) {
      case 'let': visit(s.value); break;
      case 'assign': s.keys.forEach(visit); visit(s.value); assigned.add(s.map); break;
      case 'agg': s.keys.forEach(visit); s.call.args.forEach(visit); assigned.add(s.map); break;
      case 'emit': s.fields.forEach((f) => visit(f.value)); break;
      case 'if': visit(s.cond); s.then.forEach(stmt); s.else.forEach(stmt); break;
      case 'delete': s.keys.forEach(visit); break;
      default: break;
    }
  };
  for (const p of probes) {
    if (p.predicate) visit(p.predicate);
    p.body.forEach(stmt);
  }
  return forward;
}
