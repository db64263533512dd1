import { sqlInt, sqlString, type FieldFilter, type FieldType } from '@tapfleet/schemas';
import type { StoredLayout } from './layouts.js';

/** A filter that cannot apply (no such field, a word for a number); the API answers 400 naming `where`. */
export class FieldFilterError extends Error {
  readonly code = 'TAPFLEET_BAD_FIELD_FILTER';
}

const SLOT = /^(n[0-7]|s[0-3])$/;

/** The SQL expression that reads one field of a stored row, from its slot column (never from input). */
function fieldExpr(slot: string, type: FieldType, name: string): string {
  if (slot === 'extra') return `extra_values[indexOf(extra_names, ${sqlString(name)})]`;
  if (!SLOT.test(slot)) throw new FieldFilterError(`layout names an unknown slot '${slot}'`);
  // u64 values are stored as their Int64 bit pattern; compare them as what they are (toUInt64 keeps the bits;
  // 18.16 cannot reinterpretAsUInt64 an Int64).
  return type === 'u64' ? `toUInt64(${slot})` : slot;
}

function valueLiteral(f: FieldFilter, type: FieldType, inExtra: boolean): string {
  if (type === 'str' || inExtra) {
    if (type === 'str' && f.op !== '=' && f.op !== '!=') throw new FieldFilterError(`${f.field} is a string field: only = and != apply`);
    return sqlString(f.value);
  }
  if (!/^-?\d{1,20}$/.test(f.value)) throw new FieldFilterError(`${f.field} is a ${type} field: '${f.value.slice(0, 40)}' is not an integer`);
  const v = BigInt(f.value);
  if (type === 'u64') {
    if (v < 0n || v >= 1n << 64n) throw new FieldFilterError(`${f.field} is a u64 field: ${f.value} is out of range`);
    return `toUInt64(${v.toString()})`;
  }
  if (v < -(1n << 63n) || v >= 1n << 63n) throw new FieldFilterError(`${f.field} is a ${type} field: ${f.value} is out of range`);
  return sqlInt(v);
}

/**
 * The WHERE condition for field filters on one event: each bundle may put a field in another
 * slot, so the condition is one disjunct per bundle whose layout has every filtered field.
 */
export function fieldFilterCondition(layouts: readonly StoredLayout[], filters: readonly FieldFilter[]): string {
  const disjuncts: string[] = [];
  for (const layout of layouts) {
    const parts: string[] = [`bundle = ${sqlString(layout.bundle)}`];
    let complete = true;
    for (const f of filters) {
      const field = layout.fields.find((x) => x.name === f.field);
      if (!field) {
        complete = false;
        break;
      }
      parts.push(`${fieldExpr(field.slot, field.type, field.name)} ${f.op} ${valueLiteral(f, field.type, field.slot === 'extra')}`);
    }
    if (complete) disjuncts.push(`(${parts.join(' AND ')})`);
  }
  if (!disjuncts.length) {
    const names = [...new Set(layouts.flatMap((l) => l.fields.map((f) => f.name)))].sort();
    throw new FieldFilterError(`no stored layout of this event has ${filters.map((f) => f.field).join(', ')}${names.length ? ` (its fields: ${names.join(', ')})` : ' (no layout stored for it)'}`);
  }
  return disjuncts.join(' OR ');
}
