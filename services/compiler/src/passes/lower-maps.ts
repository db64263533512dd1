import { aggregationValueSize, type MapLayout } from '@tapfleet/schemas';
import { LIMITS } from '../limits.js';
import type { Type } from '../types.js';
import { stackMapName } from './stack-keys.js';
import type { MapInfo } from './typecheck.js';

type KeyField = MapLayout['keyFields'][number];

const round8 = (n: number) => Math.ceil(n / 8) * 8;

/** One key position: an 8-byte integer or packed stack key, or a string buffer rounded up to 8 bytes. */
function keyField(t: Type, i: number, at: number): KeyField {
  if (t.kind === 'str') return { name: `k${i}`, type: 'str', offset: at, size: round8(t.size) };
  if (t.kind === 'stack') return { name: `k${i}`, type: t.user ? 'ustack' : 'kstack', offset: at, size: 8, stackMap: stackMapName(t) };
  // A user address is named through its process's mappings: the tgid rides with it.
  if (t.sym) return { name: `k${i}`, type: t.sym, offset: at, size: t.sym === 'usym' ? 16 : 8 };
  if (t.strftime !== undefined) return { name: `k${i}`, type: 'u64', offset: at, size: 8, strftime: t.strftime };
  return { name: `k${i}`, type: t.signed ? 'i64' : 'u64', offset: at, size: 8 };
}

/**
 * The one place a map's key and value layout is decided (the manifest's MapLayout; emit-c
 * writes `struct tf_k_ID`/`struct tf_v_ID` from it and asserts the sizes). A keyless map is
 * a one-slot array keyed by a __u32 0, so its key is 4 bytes and it holds one entry. A value
 * map holds an 8-byte signed integer or a string rounded up to 8 bytes, in one copy; an
 * aggregation holds aggregationValueSize bytes per CPU.
 */
export function mapLayout(m: MapInfo): MapLayout {
  let at = 0;
  const keyFields = m.keyTypes.map((t, i) => {
    const f = keyField(t, i, at);
    at += f.size;
    return f;
  });
  const keySize = keyFields.length ? at : 4;
  if (m.kind === 'value') {
    const t = m.valueType!;
    return { name: m.name, kind: m.kind, valueType: t.kind === 'int' ? 'i64' : 'str', keySize, keyFields, valueSize: t.kind === 'int' ? 8 : round8(t.size), maxEntries: keyFields.length ? LIMITS.maxValueMapEntries : 1 };
  }
  // An lhist whose arguments were refused has no bounds; the compile stops before anything reads its size.
  const valueSize = m.kind === 'lhist' && !m.lhist ? 8 : aggregationValueSize(m.kind, m.lhist);
  return { name: m.name, kind: m.kind, keySize, keyFields, valueSize, maxEntries: keyFields.length ? LIMITS.maxMapEntries : 1, ...(m.lhist ? { lhist: m.lhist } : {}) };
}
