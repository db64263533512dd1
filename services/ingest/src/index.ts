/** Ingest: JetStream -> ClickHouse (events, agent status, map snapshots), migrations, retention. */
export { ingestCommands as commands } from './commands.js';
export { IngestService } from './ingest-service.js';
export { migrate, type MigrationReport } from './migrate.js';
export { migrateShards, ensureDistributedTables, ClusterLayoutError } from './cluster-migrate.js';
export { migrateConfigured, retainOnEveryShard } from './database-setup.js';
export { applyRetention } from './retention.js';
export { clickHouseRunner, type SqlRunner } from './sql-runner.js';
export { EventRowEncoder, newEventBlock, type ShardOfKey } from './event-rows.js';
export { NativeBlock, ColumnBytes } from './native-block.js';
export { PROBE_EVENT_COLUMNS, PROBE_EVENT_TYPES, slotFields } from './event-slots.js';
export { writeI64Decimal, writeU64Decimal } from './decimal-digits.js';
export { insertEventRows, type EventRowsTarget } from './event-insert.js';
