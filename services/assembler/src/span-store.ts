import type { ClickHouseClient } from '@tapfleet/runtime';
import type { TxnSpanRow } from '@tapfleet/schemas';

/** Inserts span rows into txn_spans; throws when ClickHouse does not confirm (the caller retries). */
export async function storeSpans(ch: ClickHouseClient, db: string, rows: readonly TxnSpanRow[]): Promise<void> {
  if (!rows.length) return;
  await ch.insert({ table: `${db}.txn_spans`, values: rows as TxnSpanRow[], format: 'JSONEachRow' });
}
