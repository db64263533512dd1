import { decodeRecord, EventLayouts, isStackField, jsonSafe, type AggEntry, type BundleManifest, type DecodedEvent, type EventLayout } from '@tapfleet/schemas';

/** Event layouts of a bundle by event id, built once per run rather than searched per event. */
export function layoutsById(manifest: BundleManifest): EventLayouts {
  return EventLayouts.of(manifest);
}

/**
 * Decodes a raw event with the manifest's layouts (never a hand-written layout); undefined when it
 * fits none (schemas' EventLayouts: its id and exact size), so it is counted, never printed garbled.
 */
export function decodeEvent(layouts: EventLayouts, data: Uint8Array): { name: string; fields: DecodedEvent; layout: EventLayout } | undefined {
  const layout = layouts.fit(data);
  if (!layout) return undefined;
  return { name: layout.name, fields: decodeRecord(new DataView(data.buffer, data.byteOffset, data.byteLength), 0, layout), layout };
}

/** Names of the layout's stack fields (their values are symbolised frames, one a line). */
const stackNames = (layout?: EventLayout) => new Set(layout?.fields.filter(isStackField).map((f) => f.name));

/** A symbolised stack's frames as a list, leaf first ([] for an empty stack). */
export const stackFrames = (text: string): string[] => (text ? text.split('\n') : []);

/**
 * A stack as bpftrace's printf("%s", kstack) prints it (bpftrace 0.17, seen side by side): a
 * newline, then each frame on its own line indented by 8 spaces (a map key's frames by 4: map-text).
 */
export const printedStack = (text: string): string => (text ? `\n${text.split('\n').map((f) => `        ${f}\n`).join('')}` : '');

/** A printf() record's stack arguments as %s prints them. */
export function printfStacks(layout: EventLayout, fields: DecodedEvent): DecodedEvent {
  for (const f of layout.fields) if (isStackField(f)) fields[f.name] = printedStack(String(fields[f.name] ?? ''));
  return fields;
}

/** One event as a JSON line; a stack field is an array of its frames, leaf first. */
export function eventJson(name: string, fields: DecodedEvent, layout?: EventLayout): string {
  const stacks = stackNames(layout);
  const out = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, stacks.has(k) ? stackFrames(String(v)) : v]));
  // `type` first on every --json line (live, printf, event, map): a reader dispatches on it.
  return JSON.stringify({ type: 'event', event: name, ...out }, jsonSafe);
}

/** One event as a text line; a stack field prints as bpftrace's printf prints a stack (each frame on its own indented line; stacks are the last fields). */
export function eventText(name: string, fields: DecodedEvent, layout?: EventLayout): string {
  const { event_id: _id, cpu: _cpu, ktime_ns: _t, ...rest } = fields;
  const stacks = stackNames(layout);
  return `${name} ${Object.entries(rest).map(([k, v]) => `${k}=${stacks.has(k) ? printedStack(String(v)).replace(/\n$/, '') : typeof v === 'string' ? JSON.stringify(v) : v}`).join(' ')}`;
}

/**
 * One map as a JSON line. `value` is what text mode prints: the average for avg() (with its `sum`
 * and `count`), the string for a string value; `count` only where it means something (avg, hist).
 */
export function mapJson(layout: BundleManifest['maps'][number], entries: AggEntry[]): string {
  const entry = (e: AggEntry) => {
    if (e.text !== undefined) return { key: e.key, value: e.text };
    if (layout.kind === 'avg') return { key: e.key, value: e.count ? e.value / e.count : 0n, sum: e.value, count: e.count ?? 0n };
    if (layout.kind === 'stats') return { key: e.key, count: e.count ?? 0n, average: e.count ? e.value / e.count : 0n, total: e.value };
    return { key: e.key, value: e.value, ...(e.buckets ? { buckets: e.div ? e.buckets.map((b) => b / e.div!) : e.buckets, ...(e.count !== undefined ? { count: e.count } : {}) } : {}) };
  };
  return JSON.stringify({ type: 'map', map: layout.name, kind: layout.kind, entries: entries.map(entry) }, jsonSafe);
}
