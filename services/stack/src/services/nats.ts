import type { TapfleetConfig } from '@tapfleet/schemas';
import { connectJetStream } from '@tapfleet/runtime';
import { withTimeout, type ServiceDirs, type StackService } from './service.js';

/** nats-server with JetStream, file storage under the stack directory. */
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
    prepare: (dirs: ServiceDirs) => [
      '--jetstream',
      '--store_dir', dirs.data,
      '--addr', url.hostname,
      '--port', String(port),
      '--http_port', String(config.nats.monitorPort),
      '--server_name', 'tapfleet-local',
    ],
    async checkHealth() {
      // A JetStream account-info round trip proves both the server and JetStream answer.
      const { nc, jsm } = await withTimeout(connectJetStream(config, { name: 'tapfleet-stack-health', timeoutMs: 1500 }), 3000, 'nats-server');
      try {
        await withTimeout(jsm.getAccountInfo(), 3000, 'JetStream');
      } finally {
        await nc.close();
      }
    },
  };
}
