import { exactJsonInteger, FieldType } from '@tapfleet/schemas';
import { z } from 'zod/v3';

/** One field as ingest stored it in event_layouts (the layout's field plus its slot column). */
const StoredField = z.object({ name: z.string(), type: FieldType, slot: z.string() });
const StoredFields = z.array(StoredField);

export interface StoredLayout {
  bundle: string;
  event: string;
  fields: z.infer<typeof StoredFields>;
}

/** An event_layouts row read back; a row that fails its schema has no fields (its events show slots unnamed). */
export function parseLayoutRow(row: { bundle: string; event: string; fields: string }): StoredLayout {
  let fields: z.infer<typeof StoredFields> = [];
  try {
    const r = StoredFields.safeParse(JSON.parse(row.fields));
    if (r.success) fields = r.data;
  } catch {
    // Not JSON: written by something else than ingest; shown without names rather than failing the query.
  }
  return { bundle: row.bundle, event: row.event, fields };
}

/** The stored columns of a probe_events row that hold emitted fields. */
export interface SlotColumns {
  /** Numeric slots as decimal text (their Int64 values exceed JSON's exact range). */
  n0_text: string; n1_text: string; n2_text: string; n3_text: string; n4_text: string; n5_text: string; n6_text: string; n7_text: string;
  s0: string; s1: string; s2: string; s3: string;
  extra_names: string[];
  extra_values: string[];
}

/** An event's fields by name, through its bundle's layout (numbers beyond 2^53 as decimal strings). */
export function decodeFields(row: SlotColumns, layout: StoredLayout | undefined): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  const slots = row as unknown as Record<string, string>;
  for (const f of layout?.fields ?? []) {
    if (f.slot === 'extra') {
      const i = row.extra_names.indexOf(f.name);
      if (i >= 0) out[f.name] = row.extra_values[i]!;
    } else if (f.type === 'str') {
      out[f.name] = slots[f.slot] ?? '';
    } else {
      const raw = BigInt(slots[`${f.slot}_text`] ?? '0');
      out[f.name] = exactJsonInteger(f.type === 'u64' ? BigInt.asUintN(64, raw) : raw);
    }
  }
  return out;
}
