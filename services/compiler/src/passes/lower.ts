import type { AttachPoint, EventLayout, MapLayout, StackMap } from '@tapfleet/schemas';
import { eventLayout } from './lower-events.js';
import { mapLayout } from './lower-maps.js';
import { lowerPrograms, type ProgramInfo } from './lower-programs.js';
import type { ResolvedProbe } from './resolve-points.js';
import { stackMapsFor } from './stack-keys.js';
import type { Analysis } from './typecheck.js';

export type { ProgramInfo } from './lower-programs.js';

/**
 * Every layout a compiled script has, decided once. The generated C is written from it
 * (emit-c: record structs, map key and value structs, stack maps, program names, each size
 * and offset asserted with _Static_assert), the bundle manifest copies it (events, maps,
 * stacks, attach), and every decoder reads the manifest: nothing downstream recomputes an
 * offset or a size.
 */
export interface Lowered {
  /** Ring-buffer record layouts by record name (emits, printf() call sites, exit()), in id order. */
  events: Map<string, EventLayout>;
  /** Map key and value layouts by map name (`@name`), in the order the script first uses them. */
  maps: Map<string, MapLayout>;
  /** Stack-trace maps behind kstack/ustack keys, one per (kind, depth), by name. */
  stacks: StackMap[];
  /** The object's programs, in the order they are written. */
  programs: ProgramInfo[];
  /** The manifest's attach list: the programs' kernel attach points, then the user-side probes. */
  attach: AttachPoint[];
}

/**
 * Pass: lay out the typed script. Record ids are given in the order typecheck and printf-check
 * declared the records (emits, then printf() call sites, then exit()). Runs on a script with
 * errors too (the limit checks read the sizes), so it never throws on a half-typed script.
 */
export function lower(probes: ResolvedProbe[], a: Analysis): Lowered {
  const events = new Map([...a.events].map(([name, info], id) => [name, eventLayout(id, name, info)]));
  const maps = new Map([...a.maps].map(([name, m]) => [name, mapLayout(m)]));
  return { events, maps, stacks: stackMapsFor(a.stacks.values()), ...lowerPrograms(probes) };
}
