// Command table only: each command loads its service code when it runs, so `tapfleet --help` stays light.
import { createClickHouse, untilSignal, type Command } from '@tapfleet/runtime';

export const ingestCommand: Command = {
  path: ['ingest'],
  summary: 'run the ingest service: JetStream event batches, agent status and map snapshots into ClickHouse',
  details: 'Applies migrations first. Several replicas share the work through durable consumers. Runs until SIGINT/SIGTERM.',
  async run(_v, _p, { config, log }) {
    const { IngestService } = await import('./ingest-service.js');
    const service = await IngestService.start(config, log);
    await untilSignal();
    await service.stop();
    return 0;
  },
};

export const migrateCommand: Command = {
  path: ['db', 'migrate'],
  summary: 'apply the ClickHouse migrations not yet applied (idempotent; ingest also runs them on start)',
  async run(_v, _p, { config, out }) {
    const [{ migrate }, { clickHouseRunner }] = await Promise.all([import('./migrate.js'), import('./sql-runner.js')]);
    const admin = createClickHouse(config, { database: 'default' });
    try {
      const r = await migrate(clickHouseRunner(admin), config.clickhouse.database);
      out(`ClickHouse ${r.serverVersion}, database ${config.clickhouse.database}: ${r.applied.length ? `applied ${r.applied.join(', ')}` : 'up to date'}`);
      for (const s of r.skipped) out(`  migration ${s.version}: optional statement skipped (server has no ${s.feature})`);
      return 0;
    } finally {
      await admin.close();
    }
  },
};

export const ingestCommands: Command[] = [ingestCommand, migrateCommand];
