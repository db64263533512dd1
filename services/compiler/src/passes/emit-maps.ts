import { HIST_BUCKETS, mapObjectName, type MapLayout } from '@tapfleet/schemas';

/**
 * C for the script's maps, written from their lowered layouts (lower-maps.ts): the key struct
 * `tf_k_ID` and the value struct `tf_v_ID`, each size asserted against the layout the
 * manifest carries, and the map itself.
 */

/** `@name` -> `name` (`@` alone -> ``): the suffix of the map's C structs. */
export const mapId = (name: string) => name.slice(1);

/** `struct tf_k_ID`: one member per key field at its lowered size, or the `__u32 0` of a keyless map. */
function keyStruct(m: MapLayout, keyless: string): string[] {
  const id = mapId(m.name);
  const members = m.keyFields.length === 0
    ? `\t__u32 k0; /* ${keyless} */`
    : m.keyFields.map((f) => (f.type === 'str' ? `\tchar ${f.name}[${f.size}];` : f.type === 'usym' ? `\t__s64 ${f.name}[2]; /* address, tgid */` : `\t__s64 ${f.name};`)).join('\n');
  return [`struct tf_k_${id} {\n${members}\n};`, `_Static_assert(sizeof(struct tf_k_${id}) == ${m.keySize}, "key of ${m.name}");`];
}

type AggKind = Exclude<MapLayout['kind'], 'value'>;
const AGG_VALUE: Record<AggKind, (m: MapLayout) => string> = {
  count: () => '\t__s64 v;', sum: () => '\t__s64 v;', min: () => '\t__s64 v;\n\t__u64 set;', max: () => '\t__s64 v;\n\t__u64 set;', avg: () => '\t__s64 sum;\n\t__u64 count;', stats: () => '\t__s64 sum;\n\t__u64 count;',
  hist: () => `\t__u64 b[${HIST_BUCKETS}];`, lhist: (m) => `\t__u64 b[${m.valueSize / 8}];`,
};

/**
 * An aggregation: per-CPU, merged in user space. Keyed maps are not preallocated: creating a
 * preallocated 10k-entry per-CPU hash costs 5-10 ms each here, which would dominate start-up.
 */
function aggregationMap(m: MapLayout & { kind: AggKind }): string {
  const id = mapId(m.name);
  const mapType = m.keyFields.length === 0
    ? `\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n\t__uint(max_entries, ${m.maxEntries});`
    : `\t__uint(type, BPF_MAP_TYPE_PERCPU_HASH);\n\t__uint(map_flags, BPF_F_NO_PREALLOC);\n\t__uint(max_entries, ${m.maxEntries});`;
  return [
    ...keyStruct(m, 'scalar aggregation: a one-slot per-CPU array, key 0'),
    `struct tf_v_${id} {\n${AGG_VALUE[m.kind](m)}\n};`,
    `_Static_assert(sizeof(struct tf_v_${id}) == ${m.valueSize}, "value of ${m.name}");`,
    `struct tf_v_${id} tf_zero_${id} = {};`,
    `struct {\n${mapType}\n\t__type(key, struct tf_k_${id});\n\t__type(value, struct tf_v_${id});\n} ${mapObjectName(m.name)} SEC(".maps");`,
    '',
  ].join('\n');
}

/**
 * A value map (`@m[KEYS] = EXPR`): a plain BPF hash shared by every CPU (bpftrace's semantics:
 * a value stored on one CPU is read on another, as a wakeup and the switch that follows it
 * usually are), not preallocated. The value is one signed integer (`v`) or one bounded string (`s`).
 */
function valueMap(m: MapLayout): string {
  const id = mapId(m.name);
  const value = m.valueType === 'str' ? `\tchar s[${m.valueSize}];` : '\t__s64 v;';
  return [
    ...keyStruct(m, 'a scalar (@x = ...): one key, 0'),
    `struct tf_v_${id} {\n${value}\n};`,
    `_Static_assert(sizeof(struct tf_v_${id}) == ${m.valueSize}, "value of ${m.name}");`,
    `struct {\n\t__uint(type, BPF_MAP_TYPE_HASH);\n\t__uint(map_flags, BPF_F_NO_PREALLOC);\n\t__uint(max_entries, ${m.maxEntries});\n\t__type(key, struct tf_k_${id});\n\t__type(value, struct tf_v_${id});\n} ${mapObjectName(m.name)} SEC(".maps");`,
    '',
  ].join('\n');
}

export function mapDefinitionC(m: MapLayout): string {
  return m.kind === 'value' ? valueMap(m) : aggregationMap(m as MapLayout & { kind: AggKind });
}
