import { UsageError, type Command } from '@tapfleet/runtime';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { derivedShards } from './services/clickhouse.js';
import { setupCommand } from './setup-command.js';
import { runningServices, UpInterrupt } from './interrupted-up.js';
import { withNatsCluster } from '@tapfleet/runtime';
import { ALL_SERVICES, DEMO_SERVICES, PRODUCT_SERVICES, SERVER_SERVICES, serviceGroupName, stackDown, stackStatus, stackUp, type ServiceName, type ServiceReport } from './stack.js';

/**
 * `--with kafka,jaeger,product,demo`: extra services beyond the servers; `product` means control
 * plane, ingest, assembler, the query service and agent; `demo` the demo pipeline's stages and their agents.
 */
export function withServices(text: string | undefined): ServiceName[] {
  const groups: Record<string, readonly ServiceName[]> = { product: PRODUCT_SERVICES, demo: DEMO_SERVICES };
  const extra: string[] = (text ?? '').split(',').filter(Boolean).flatMap((w): readonly string[] => groups[w] ?? [w]);
  for (const w of extra) if (!ALL_SERVICES.includes(w as ServiceName)) throw new UsageError(`--with: unknown service '${w}' (kafka, jaeger, control-plane, ingest, assembler, query, agent, product, demo)`);
  return [...SERVER_SERVICES, ...(extra as ServiceName[])];
}

/** `--shards N`: N shards on consecutive ports, unless the configuration names its shards. */
function withShards(config: TapfleetConfig, text: string | undefined): TapfleetConfig {
  if (text === undefined) return config;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new UsageError(`--shards: expected a number of shards from 1 to 16, got '${text}'`);
  if (config.clickhouse.shards.length) return config;
  return { ...config, clickhouse: { ...config.clickhouse, shards: derivedShards(config, n) } };
}

/** Wide enough for `demo-agent-matcher`. */
const NAME_WIDTH = 20;

/** One service's line of `stack up`/`stack status` (and of `tapfleet demo`'s progress). */
export function serviceLine(r: ServiceReport): string {
  const owner = r.pid ? `pid ${r.pid}` : r.state === 'reused' ? 'not ours' : '';
  const why = r.reason ? `  (${r.reason})` : '';
  return `${r.name.padEnd(NAME_WIDTH)}${r.state.padEnd(10)}${r.address.padEnd(18)}${owner.padEnd(11)}${r.logFile}${why}`;
}

const table = (reports: ServiceReport[]): string[] => reports.map(serviceLine);

export const SERVICE_HEADER = `${'service'.padEnd(NAME_WIDTH)}${'state'.padEnd(10)}${'address'.padEnd(18)}${'process'.padEnd(11)}log`;

export const stackCommands: Command[] = [
  setupCommand,
  {
    path: ['stack', 'up'],
    summary: 'install (if missing) and start nats-server, clickhouse-server and redis-server on loopback',
    details: 'State lives under <dataDir>/stack/. A healthy service already on a configured port is reused and never stopped by `down`.',
    options: {
      'no-install': { type: 'boolean', description: 'do not apt-get missing packages' },
      cluster: { type: 'boolean', description: 'run NATS as a 3-node JetStream cluster (R3 streams; nats.cluster.nodes, TAPFLEET_NATS_CLUSTER); docs/scale-out.md' },
      with: { type: 'string', description: 'also start: kafka, jaeger, control-plane, ingest, assembler, query, agent, product (those five), demo (the demo pipeline and its three agents)', valueName: 'LIST' },
      shards: { type: 'string', description: 'ClickHouse as a cluster of N shards on the ports after clickhouse.url\'s and tcpPort (unless clickhouse.shards is configured); tapfleet\'s processes started with it use them', valueName: 'N' },
    },
    async run(values, _pos, { config: configured, log, out }) {
      // --cluster without a configured size means 3 nodes; --shards N adds ClickHouse shards. Product
      // services started here get this effective config too.
      const clustered = values.cluster === true && configured.nats.cluster.nodes === 1 ? withNatsCluster(configured, 3) : configured;
      const config = withShards(clustered, values.shards as string | undefined);
      const only = withServices(values.with as string | undefined);
      // Ctrl-C stops what this command started and nothing else: not what was running before it.
      const before = runningServices(config, only);
      const interrupt = new UpInterrupt();
      let reports: ServiceReport[];
      try {
        reports = await stackUp(config, log, { install: values['no-install'] !== true, only, signal: interrupt.signal });
        if (interrupt.signal.aborted) {
          for (const r of await stackDown(config, log, only.filter((n) => !before.has(n)))) if (r.pid) out(`${r.name.padEnd(NAME_WIDTH)}stopped pid ${r.pid}`);
          out('stopped.');
          return 130;
        }
      } finally {
        interrupt.dispose();
      }
      out(SERVICE_HEADER);
      table(reports).forEach((l) => out(l));
      return 0;
    },
  },
  {
    path: ['stack', 'down'],
    summary: "stop the services this stack started (by pid file; tapfleet's own first), leaving their data",
    async run(_v, _p, { config, log, out }) {
      const reports = await stackDown(config, log);
      for (const r of reports) if (r.pid || SERVER_SERVICES.includes(serviceGroupName(r.name))) out(`${r.name.padEnd(NAME_WIDTH)}${r.pid ? `stopped pid ${r.pid}` : 'not started by tapfleet'}`);
      return 0;
    },
  },
  {
    path: ['stack', 'status'],
    summary: 'show each stack service: running (ours), reused, unhealthy or stopped; exit 1 unless all are healthy',
    async run(_v, _p, { config, out }) {
      const reports = await stackStatus(config);
      out(SERVICE_HEADER);
      table(reports).forEach((l) => out(l));
      return reports.every((r) => r.state === 'running' || r.state === 'reused') ? 0 : 1;
    },
  },
];
