import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { connectJetStream, natsAuthDir } from '@tapfleet/runtime';
import { withTimeout, type ServiceDirs, type StackService } from './service.js';

/**
 * nats-server with JetStream, file storage under the stack directory, and decentralized
 * auth: it trusts the operator and accounts `stackUp` created (ensureNatsAuth), so every
 * client needs credentials and each user's JWT says what it may publish and subscribe.
 */
export function natsService(config: TapfleetConfig): StackService {
  const url = new URL(config.nats.url.replace(/^nats:/, 'http:'));
  const port = Number(url.port);
  return {
    name: 'nats',
    binary: 'nats-server',
    host: url.hostname,
    port,
    extraPorts: [config.nats.monitorPort],
    startTimeoutMs: 15_000,
    prepare: (dirs: ServiceDirs) => {
      chmodSync(dirs.root, 0o700); // JetStream's files (events, assignments, bundles) are for the server alone
      const file = join(dirs.root, 'nats-server.conf');
      const auth = readFileSync(join(natsAuthDir(config), 'server-auth.conf'), 'utf8');
      writeFileSync(file, [
        `listen: "${url.hostname}:${port}"`,
        `http: "${url.hostname}:${config.nats.monitorPort}"`,
        'server_name: tapfleet-local',
        // Service users' JWTs carry explicit allow-lists (the assembler's: five subjects per
        // partition) and travel in the CONNECT line, which the 4 KB default would cut off.
        'max_control_line: 16384',
        `jetstream { store_dir: "${dirs.data}" }`,
        ...natsTlsBlock(config),
        auth,
      ].join('\n'), { mode: 0o600 });
      return ['-c', file];
    },
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
