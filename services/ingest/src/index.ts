/** Ingest: JetStream -> ClickHouse (events, agent status, map snapshots), migrations, retention. */
export { ingestCommands as commands } from './commands.js';
export { IngestService } from './ingest-service.js';
export { migrate, type MigrationReport } from './migrate.js';
export { migrateShards, ensureDistributedTables, ClusterLayoutError } from './cluster-migrate.js';
export { migrateConfigured, retainOnEveryShard } from './database-setup.js';
export { applyRetention } from './retention.js';
export { clickHouseRunner, type SqlRunner } from './sql-runner.js';
export { EventRowEncoder } from './event-rows.js';
export { RowBinaryWriter } from './row-binary.js';
export { PROBE_EVENT_COLUMNS, slotFields } from './event-slots.js';
export { insertEventRows, type EventRowsTarget } from './event-insert.js';
