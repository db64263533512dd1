import { NatsHealthz, NatsRoutez, type TapfleetConfig } from '@tapfleet/schemas';
import { connectJetStream, natsClusterNodes, readNatsMonitor, type NatsNode } from '@tapfleet/runtime';
import { withTimeout } from './service.js';

/** The configuration of a client that talks to this node alone (health checks must not fail over). */
export const onlyNode = (config: TapfleetConfig, node: NatsNode): TapfleetConfig => ({ ...config, nats: { ...config.nats, urls: [node.url] } });

/**
 * A cluster node is healthy when it has a route to every other node, its JetStream is current
 * (`/healthz`: it knows the meta leader and has caught up with it), and a client with the
 * stack's credentials gets account info through it: the same bar after a restart, so "healthy"
 * also means "rejoined".
 */
export async function clusterNodeHealth(config: TapfleetConfig, node: NatsNode): Promise<void> {
  const others = natsClusterNodes(config).length - 1;
  const routez = await readNatsMonitor(node, '/routez', NatsRoutez);
  if (routez.num_routes < others) throw new Error(`${node.serverName} has ${routez.num_routes} of ${others} routes`);
  const health = await readNatsMonitor(node, '/healthz', NatsHealthz);
  if (health.status !== 'ok') throw new Error(`${node.serverName} JetStream: ${health.error ?? health.status}`);
  const { nc, jsm } = await withTimeout(connectJetStream(onlyNode(config, node), { name: 'tapfleet-stack-health', identity: 'admin', timeoutMs: 1500 }), 3000, node.serverName);
  try {
    await withTimeout(jsm.getAccountInfo(), 3000, `${node.serverName} JetStream`);
  } finally {
    await nc.close();
  }
}
