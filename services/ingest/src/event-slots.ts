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

/** The columns of a probe_events insert, in RowBinary order. */
export const PROBE_EVENT_COLUMNS = [
  'date', 'ts_ns', 'deployment', 'host', 'boot_id', 'seq', 'bundle', 'probe', 'event', 'pid', 'tid', 'cpu', 'comm', 'txn', 'latency_ns',
  'clock_offset_ns', 'clock_uncertainty_ns',
  ...Array.from({ length: NUMERIC_SLOTS }, (_, i) => `n${i}`),
  ...Array.from({ length: STRING_SLOTS }, (_, i) => `s${i}`),
  'extra_names', 'extra_values',
] as const;

