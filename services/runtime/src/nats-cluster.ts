import type { TapfleetConfig } from '@tapfleet/schemas';

/** One node of the NATS cluster the stack runs: its stack service name, ports and server name. */
export interface NatsNode {
  /** The stack service (pid file, log, data dir under <dataDir>/stack/<service>). */
  service: `nats-${number}`;
  /** `server_name`: JetStream's clustered meta layer tells nodes apart by it, so it must be unique and stable. */
  serverName: string;
  host: string;
  clientPort: number;
  routePort: number;
  monitorPort: number;
  url: string;
}

/** True when the stack runs more than one nats-server (config `nats.cluster.nodes`). */
export const isNatsCluster = (config: TapfleetConfig): boolean => config.nats.cluster.nodes > 1;

/**
 * The stack's cluster nodes (none for one server, which stays the `nats` service at `nats.url`).
 * Node i (1-based) takes three consecutive ports from `cluster.portBase`: client, route, monitor.
 */
export function natsClusterNodes(config: TapfleetConfig): NatsNode[] {
  if (!isNatsCluster(config)) return [];
  const host = new URL(config.nats.url.replace(/^nats:/, 'http:')).hostname;
  return Array.from({ length: config.nats.cluster.nodes }, (_, k) => {
    const clientPort = config.nats.cluster.portBase + 3 * k;
    return {
      service: `nats-${k + 1}` as const,
      serverName: `${config.nats.cluster.name}-${k + 1}`,
      host,
      clientPort,
      routePort: clientPort + 1,
      monitorPort: clientPort + 2,
      url: `nats://${host}:${clientPort}`,
    };
  });
}

/** Every server a client may connect to: `nats.urls`, else the stack's cluster nodes, else `nats.url`. */
export function natsServerUrls(config: TapfleetConfig): string[] {
  if (config.nats.urls) return config.nats.urls;
  const nodes = natsClusterNodes(config);
  return nodes.length ? nodes.map((n) => n.url) : [config.nats.url];
}

/** JetStream replicas of every stream, bucket and store: `nats.replicas`, else min(3, nodes). */
export const natsReplicas = (config: TapfleetConfig): number => config.nats.replicas ?? Math.min(3, config.nats.cluster.nodes);

/** The configuration with the stack running a cluster of `nodes` (`stack up --cluster`). */
export const withNatsCluster = (config: TapfleetConfig, nodes: number): TapfleetConfig =>
  ({ ...config, nats: { ...config.nats, cluster: { ...config.nats.cluster, nodes } } });
