import { EVENT_PREFIX_SIZE, stackFieldSize, type EventLayout, type LayoutField } from '@tapfleet/schemas';
import type { EventInfo } from './typecheck.js';
import type { Type } from '../types.js';

/**
 * The one place a record's binary layout is decided: the fixed prefix (struct tf_prefix in
 * tapfleet-abi.h, EVENT_PREFIX in schemas), then the integers as 8-byte words, then the
 * strings at their buffer sizes, then the stacks (each an 8-byte length and its frames; last,
 * so the published layout, where each becomes text, moves no other field), the whole rounded
 * up to 8 bytes. The stacks start 8-aligned: the strings before them are rounded up. `id` is what the program
 * writes into the prefix's event_id.
 */
export function eventLayout(id: number, name: string, info: EventInfo): EventLayout {
  const out: LayoutField[] = [];
  let at = EVENT_PREFIX_SIZE;
  const hostInt = (t: Type) => t.kind === 'int' && (t.sym !== undefined || t.strftime !== undefined);
  for (const f of info.fields) if (f.type.kind === 'int' && !hostInt(f.type)) {
    out.push({ name: f.name, type: f.type.signed ? 'i64' : 'u64', offset: at, size: 8 });
    at += 8;
  }
  for (const f of info.fields) if (f.type.kind === 'str') {
    out.push({ name: f.name, type: 'str', offset: at, size: f.type.size });
    at += f.type.size;
  }
  // Symbols and times, then stacks: the fields only the host that took them can read, last (publishedLayout).
  for (const f of info.fields) if (f.type.kind === 'int' && hostInt(f.type)) {
    at = Math.ceil(at / 8) * 8;
    out.push(f.type.sym ? { name: f.name, type: f.type.sym, offset: at, size: 8 } : { name: f.name, type: 'u64', offset: at, size: 8, strftime: f.type.strftime! });
    at += 8;
  }
  for (const f of info.fields) if (f.type.kind === 'stack') {
    at = Math.ceil(at / 8) * 8;
    out.push({ name: f.name, type: f.type.user ? 'ustack' : 'kstack', offset: at, size: stackFieldSize(f.type.depth) });
    at += stackFieldSize(f.type.depth);
  }
  return {
    id, name, size: Math.ceil(at / 8) * 8, fields: out,
    ...(info.fields.some((f) => f.name === 'txn') ? { txnField: 'txn' } : {}),
    probes: info.probes,
    ...(info.call ? { call: info.call } : {}),
  };
}
