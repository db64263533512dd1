import { decodeRecord, EventLayouts, jsonSafe, type AggEntry, type BundleManifest, type DecodedEvent, type EventLayout } from '@tapfleet/schemas';

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

export function eventJson(name: string, fields: DecodedEvent): string {
  // `type` first on every --json line (live, printf, event, map): a reader dispatches on it.
  return JSON.stringify({ type: 'event', event: name, ...fields }, jsonSafe);
}

export function eventText(name: string, fields: DecodedEvent): string {
  const { event_id: _id, cpu: _cpu, ktime_ns: _t, ...rest } = fields;
  return `${name} ${Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : v}`).join(' ')}`;
}

/**
 * One map as a JSON line. `value` is what text mode prints: the average for avg() (with its `sum`
 * and `count`), the string for a string value; `count` only where it means something (avg, hist).
 */
export function mapJson(layout: BundleManifest['maps'][number], entries: AggEntry[]): string {
  const entry = (e: AggEntry) => {
    if (e.text !== undefined) return { key: e.key, value: e.text };
    if (layout.kind === 'avg') return { key: e.key, value: e.count ? e.value / e.count : 0n, sum: e.value, count: e.count ?? 0n };
    return { key: e.key, value: e.value, ...(e.buckets ? { buckets: e.buckets, ...(e.count !== undefined ? { count: e.count } : {}) } : {}) };
  };
  return JSON.stringify({ type: 'map', map: layout.name, kind: layout.kind, entries: entries.map(entry) }, jsonSafe);
}
