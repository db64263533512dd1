import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { connectJetStream, ensureNatsRoutePassword, natsAuthDir, natsClusterNodes, type NatsNode } from '@tapfleet/runtime';
import { withTimeout, type ServiceDirs, type StackService } from './service.js';
import { clusterNodeHealth } from './nats-cluster-health.js';

/** Lines every node's configuration shares: JetStream under its data dir and the operator's auth. */
function commonConf(config: TapfleetConfig, dirs: ServiceDirs): string[] {
  chmodSync(dirs.root, 0o700); // JetStream's files (events, assignments, bundles) are for the server alone
  return [
    // Service users' JWTs carry explicit allow-lists (the assembler's: five subjects per
    // partition) and travel in the CONNECT line, which the 4 KB default would cut off.
    'max_control_line: 16384',
    `jetstream { store_dir: "${dirs.data}" }`,
    ...natsTlsBlock(config),
    // The operator, the two accounts preloaded (a memory resolver): every node gets the same
    // block, so an account is known on every node without a resolver pushing JWTs around.
    readFileSync(join(natsAuthDir(config), 'server-auth.conf'), 'utf8'),
  ];
}

function writeConf(dirs: ServiceDirs, lines: string[]): string[] {
  const file = join(dirs.root, 'nats-server.conf');
  writeFileSync(file, lines.join('\n'), { mode: 0o600 });
  chmodSync(file, 0o600); // the route password is in it
  return ['-c', file];
}

/**
 * nats-server with JetStream, file storage under the stack directory, and decentralized
 * auth: it trusts the operator and accounts `stackUp` created (ensureNatsAuth), so every
 * client needs credentials and each user's JWT says what it may publish and subscribe.
 * One server (the default), or a cluster (`nats.cluster.nodes`): one service per node.
 */
export function natsServices(config: TapfleetConfig): StackService[] {
  const nodes = natsClusterNodes(config);
  return nodes.length ? nodes.map((n) => clusterNodeService(config, n, nodes)) : [singleNatsService(config)];
}

function singleNatsService(config: TapfleetConfig): StackService {
  const url = new URL(config.nats.url.replace(/^nats:/, 'http:'));
  const port = Number(url.port);
  return {
    name: 'nats',
    binary: 'nats-server',
    host: url.hostname,
    port,
    extraPorts: [config.nats.monitorPort],
    startTimeoutMs: 15_000,
    prepare: (dirs: ServiceDirs) => writeConf(dirs, [
      `listen: "${url.hostname}:${port}"`,
      `http: "${url.hostname}:${config.nats.monitorPort}"`,
      'server_name: tapfleet-local',
      ...commonConf(config, dirs),
    ]),
    async checkHealth() {
      // A JetStream account-info round trip proves both the server and JetStream answer.
      const { nc, jsm } = await withTimeout(connectJetStream(config, { name: 'tapfleet-stack-health', identity: 'admin', timeoutMs: 1500 }), 3000, 'nats-server');
      try {
        await withTimeout(jsm.getAccountInfo(), 3000, 'JetStream');
      } finally {
        await nc.close();
      }
    },
  };
}

/**
 * With `stack.tls` the server requires TLS of every client (nats-server refuses a client that
 * does not upgrade) and, with a client CA, a certificate signed by it.
 */
function natsTlsBlock(config: TapfleetConfig): string[] {
  const tls = config.stack.tls;
  if (!tls) return [];
  const q = (s: string) => JSON.stringify(s);
  return [
    'tls {',
    `  cert_file: ${q(tls.certFile)}`,
    `  key_file: ${q(tls.keyFile)}`,
    ...(tls.clientCaFile ? [`  ca_file: ${q(tls.clientCaFile)}`, '  verify: true'] : []),
    '  timeout: 2',
    '}',
  ];
}

/**
 * One node of the stack's cluster: its own client, route and monitor ports and data dir, a
 * unique server_name (JetStream's raft groups name their peers by it), routes to every other
 * node on loopback, authenticated with the stack's route password.
 */
function clusterNodeService(config: TapfleetConfig, node: NatsNode, all: NatsNode[]): StackService {
  return {
    name: node.service,
    binary: 'nats-server',
    host: node.host,
    port: node.clientPort,
    extraPorts: [node.routePort, node.monitorPort],
    // The nodes start together; JetStream is up once they have elected a meta leader.
    startTimeoutMs: 30_000,
    prepare(dirs: ServiceDirs) {
      const password = ensureNatsRoutePassword(config);
      const peers = all.filter((n) => n.service !== node.service).map((n) => `    "nats-route://route:${password}@${n.host}:${n.routePort}"`);
      return writeConf(dirs, [
        `listen: "${node.host}:${node.clientPort}"`,
        `http: "${node.host}:${node.monitorPort}"`,
        `server_name: ${node.serverName}`,
        ...commonConf(config, dirs),
        'cluster {',
        `  name: ${config.nats.cluster.name}`,
        `  listen: "${node.host}:${node.routePort}"`,
        `  authorization { user: route, password: "${password}" }`,
        '  routes: [',
        ...peers,
        '  ]',
        '}',
      ]);
    },
    checkHealth: () => clusterNodeHealth(config, node),
  };
}
