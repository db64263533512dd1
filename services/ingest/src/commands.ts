// Command table only: each command loads its service code when it runs, so `tapfleet --help` stays light.
import { clickhouseShardUrls, untilSignal, type Command } from '@tapfleet/runtime';

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
    const { migrateConfigured } = await import('./database-setup.js');
    const reports = await migrateConfigured(config);
    const urls = clickhouseShardUrls(config);
    reports.forEach((r, i) => {
      const where = urls.length > 1 ? ` (shard ${i + 1}, ${urls[i]})` : '';
      out(`ClickHouse ${r.serverVersion}, database ${config.clickhouse.database}${where}: ${r.applied.length ? `applied ${r.applied.join(', ')}` : 'up to date'}`);
      for (const s of r.skipped) out(`  migration ${s.version}: optional statement skipped (server has no ${s.feature})`);
    });
    return 0;
  },
};

export const ingestCommands: Command[] = [ingestCommand, migrateCommand];
