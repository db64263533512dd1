import { mapObjectName } from '@tapfleet/schemas';
import { LIMITS } from '../limits.js';
import type { MapInfo } from './typecheck.js';

/**
 * C for value maps (`@m[KEYS] = EXPR`): a plain BPF hash shared by every CPU (bpftrace's
 * semantics: a value stored on one CPU is read on another, as a wakeup and the switch that
 * follows it usually are), not preallocated, at most LIMITS.maxValueMapEntries keys. The key
 * struct is the one aggregations use (`struct tf_k_ID`); the value is one signed integer or
 * one bounded string, so bundle/bundle.ts derives the same layout from MapInfo.
 */

const round8 = (n: number) => Math.ceil(n / 8) * 8;
const mapId = (name: string) => name.slice(1);

/** Bytes of a value map's value: 8 for an integer, the string's size rounded to 8. */
export function valueMapValueSize(m: MapInfo): number {
  const t = m.valueType!;
  return t.kind === 'int' ? 8 : round8(t.size);
}

export function valueMapDefinition(m: MapInfo): string {
  const id = mapId(m.name);
  const t = m.valueType!;
  const keyFields = m.keyTypes.length === 0
    ? '\t__u32 k0; /* a scalar (@x = ...): one key, 0 */'
    : m.keyTypes.map((k, i) => (k.kind === 'str' ? `\tchar k${i}[${round8(k.size)}];` : `\t__s64 k${i};`)).join('\n');
  const value = t.kind === 'int' ? '\t__s64 v;' : `\tchar s[${valueMapValueSize(m)}];`;
  return [
    `struct tf_k_${id} {\n${keyFields}\n};`,
    `struct tf_v_${id} {\n${value}\n};`,
    `_Static_assert(sizeof(struct tf_v_${id}) == ${valueMapValueSize(m)}, "value of ${m.name}");`,
    `struct {\n\t__uint(type, BPF_MAP_TYPE_HASH);\n\t__uint(map_flags, BPF_F_NO_PREALLOC);\n\t__uint(max_entries, ${m.keyTypes.length ? LIMITS.maxValueMapEntries : 1});\n\t__type(key, struct tf_k_${id});\n\t__type(value, struct tf_v_${id});\n} ${mapObjectName(m.name)} SEC(".maps");`,
    '',
  ].join('\n');
}

let temp = 0;
/** Temporaries are numbered per translation unit, so the same script always yields the same C. */
export function resetValueMapTemps(): void {
  temp = 0;
}

/**
 * A store: the key (built by `keyLines`, which declare `tf_k`), then the value into a zeroed
 * struct (`valueLine` writes `tf_nv.v` or fills `tf_nv.s`), then one update. A full map refuses
 * the update of a new key; the snapshot reports the map full (see output/format.ts).
 */
export function valueStore(m: MapInfo, keyLines: string[], valueLine: (dest: string) => string, ind: string): string[] {
  const id = mapId(m.name);
  const dest = m.valueType!.kind === 'int' ? 'tf_nv.v' : 'tf_nv.s';
  return [
    `${ind}{`,
    ...keyLines,
    `${ind}\tstruct tf_v_${id} tf_nv = {};`,
    `${ind}\t${valueLine(dest)}`,
    `${ind}\tbpf_map_update_elem(&${mapObjectName(m.name)}, &tf_k, &tf_nv, BPF_ANY);`,
    `${ind}}`,
  ];
}

/**
 * A read as a C expression (an integer map): the value, or 0 when the key is absent. `keyInto`
 * gives the statements that fill the key struct named by its argument.
 */
export function valueReadInt(m: MapInfo, keyInto: (key: string) => string[]): string {
  const n = temp++;
  const id = mapId(m.name);
  return `({ struct tf_k_${id} tf_rk${n} = {}; ${keyInto(`tf_rk${n}`).join(' ')} struct tf_v_${id} *tf_rv${n} = bpf_map_lookup_elem(&${mapObjectName(m.name)}, &tf_rk${n}); tf_rv${n} ? tf_rv${n}->v : (__s64)0; })`;
}

/** A read of a string map into `dest` (`size` bytes): the value, or "" when the key is absent. */
export function valueReadStr(m: MapInfo, keyInto: (key: string) => string[], dest: string, size: number): string {
  const n = temp++;
  const id = mapId(m.name);
  const bytes = Math.min(size, valueMapValueSize(m));
  return `{ struct tf_k_${id} tf_rk${n} = {}; ${keyInto(`tf_rk${n}`).join(' ')} struct tf_v_${id} *tf_rv${n} = bpf_map_lookup_elem(&${mapObjectName(m.name)}, &tf_rk${n}); if (tf_rv${n}) __builtin_memcpy(${dest}, tf_rv${n}->s, ${bytes}); else ${dest}[0] = 0; }`;
}
