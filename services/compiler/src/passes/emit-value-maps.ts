import { mapObjectName, type MapLayout } from '@tapfleet/schemas';
import { mapId } from './emit-maps.js';

/**
 * C for using value maps (`@m[KEYS] = EXPR`, `@m[KEYS]`): stores and reads of the structs
 * emit-maps.ts defines from the map's lowered layout.
 */

let temp = 0;
/** Temporaries are numbered per translation unit, so the same script always yields the same C. */
export function resetValueMapTemps(): void {
  temp = 0;
}

/**
 * A store: the key (built by `keyLines`, which declare `tf_k`), then the value into a zeroed
 * struct (`valueLine` writes `tf_nv.v` or fills `tf_nv.s`), then one update. A full map refuses
 * the update of a new key; the snapshot reports the map full (see schemas/src/map-text.ts).
 */
export function valueStore(m: MapLayout, keyLines: string[], valueLine: (dest: string) => string, ind: string): string[] {
  const id = mapId(m.name);
  const dest = m.valueType === 'str' ? 'tf_nv.s' : 'tf_nv.v';
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
export function valueReadInt(m: MapLayout, keyInto: (key: string) => string[]): string {
  const n = temp++;
  const id = mapId(m.name);
  return `({ struct tf_k_${id} tf_rk${n} = {}; ${keyInto(`tf_rk${n}`).join(' ')} struct tf_v_${id} *tf_rv${n} = bpf_map_lookup_elem(&${mapObjectName(m.name)}, &tf_rk${n}); tf_rv${n} ? tf_rv${n}->v : (__s64)0; })`;
}

/** A read of a string map into `dest` (`size` bytes): the value, or "" when the key is absent. */
export function valueReadStr(m: MapLayout, keyInto: (key: string) => string[], dest: string, size: number): string {
  const n = temp++;
  const id = mapId(m.name);
  const bytes = Math.min(size, m.valueSize);
  return `{ struct tf_k_${id} tf_rk${n} = {}; ${keyInto(`tf_rk${n}`).join(' ')} struct tf_v_${id} *tf_rv${n} = bpf_map_lookup_elem(&${mapObjectName(m.name)}, &tf_rk${n}); if (tf_rv${n}) __builtin_memcpy(${dest}, tf_rv${n}->s, ${bytes}); else ${dest}[0] = 0; }`;
}
