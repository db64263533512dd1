/** Cross-host transaction stitching, clock-corrected spans, OTLP export. */
import type { Command } from '@tapfleet/runtime';
import { assemblerCommands } from './commands.js';

export const commands: Command[] = assemblerCommands;
export { AssemblerCore, type SpanSink } from './assembler-core.js';
export { buildSpans } from './span-builder.js';
export { TransactionTable } from './transaction-table.js';
export { TxnEventDecoder } from './txn-event.js';
export { createAssemblerMetrics } from './assembler-metrics.js';
export { spanInsertGroups, storeSpans } from './span-store.js';
export { loadStoredEvents, type HistorySource, type StoredEventRow } from './history-loader.js';
export { SpanMirror } from './span-mirror.js';
