import type { ClickHouseClient } from '@tapfleet/runtime';
import type { TxnSpanRow } from '@tapfleet/schemas';

/**
 * Days per insert. txn_spans is partitioned by day and ClickHouse refuses an insert that
 * touches more than max_partitions_per_insert_block (100) partitions: a flush of spans from
 * many days (one host with a wild clock, a backlog across months) would fail on every retry
 * and hold the whole assembler, so it goes in several inserts.
 */
export const DAYS_PER_INSERT = 50;

/**
 * Inserts span rows into txn_spans; throws when ClickHouse does not confirm (the caller
 * retries all of them: a repeated row has the same key and version, so it replaces itself).
 */
export async function storeSpans(ch: ClickHouseClient, db: string, rows: readonly TxnSpanRow[]): Promise<void> {
  for (const part of spanInsertGroups(rows)) await ch.insert({ table: `${db}.txn_spans`, values: part, format: 'JSONEachRow' });
}

/** Rows in groups that each span at most `days` days (one group, in order, in the usual case). */
export function spanInsertGroups(rows: readonly TxnSpanRow[], days = DAYS_PER_INSERT): TxnSpanRow[][] {
  const byDay = new Map<string, TxnSpanRow[]>();
  for (const r of rows) {
    const d = byDay.get(r.date);
    if (d) d.push(r);
    else byDay.set(r.date, [r]);
  }
  if (byDay.size <= days) return rows.length ? [[...rows]] : [];
  const groups = [...byDay.values()];
  const out: TxnSpanRow[][] = [];
  for (let i = 0; i < groups.length; i += days) out.push(groups.slice(i, i + days).flat());
  return out;
}
