import type { EventLayout, LayoutField } from '@tapfleet/schemas';

export const NUMERIC_SLOTS = 8;
export const STRING_SLOTS = 4;

export interface SlottedField extends LayoutField {
  /** `n3`, `s0`, or `extra` when the slots are full. */
  slot: string;
}

/** Where each field of an event goes in probe_events: numbers to n0.., strings to s0.., in layout order. */
export function slotFields(layout: EventLayout): SlottedField[] {
  let n = 0;
  let s = 0;
  return layout.fields.map((f) => {
    if (f.type === 'str') return { ...f, slot: s < STRING_SLOTS ? `s${s++}` : 'extra' };
    return { ...f, slot: n < NUMERIC_SLOTS ? `n${n++}` : 'extra' };
  });
}

/** The columns of a probe_events insert, in block order. */
export const PROBE_EVENT_COLUMNS = [
  'date', 'ts_ns', 'deployment', 'host', 'boot_id', 'seq', 'bundle', 'probe', 'event', 'pid', 'tid', 'cpu', 'comm', 'txn', 'latency_ns',
  'clock_offset_ns', 'clock_uncertainty_ns',
  ...Array.from({ length: NUMERIC_SLOTS }, (_, i) => `n${i}`),
  ...Array.from({ length: STRING_SLOTS }, (_, i) => `s${i}`),
  'extra_names', 'extra_values',
] as const;


/** Each insert column's type as probe_events declares it (migrations 0001): a Native block names them. */
export const PROBE_EVENT_TYPES: Readonly<Record<string, string>> = {
  date: 'Date', ts_ns: 'UInt64', deployment: 'String', host: 'String', boot_id: 'String', seq: 'UInt64', bundle: 'String', probe: 'String', event: 'String',
  pid: 'UInt32', tid: 'UInt32', cpu: 'UInt16', comm: 'String', txn: 'String', latency_ns: 'UInt64', clock_offset_ns: 'Int64', clock_uncertainty_ns: 'UInt64',
  ...Object.fromEntries(Array.from({ length: NUMERIC_SLOTS }, (_, i) => [`n${i}`, 'Int64'])),
  ...Object.fromEntries(Array.from({ length: STRING_SLOTS }, (_, i) => [`s${i}`, 'String'])),
  extra_names: 'Array(String)', extra_values: 'Array(String)',
};
