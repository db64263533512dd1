import type { TapfleetConfig } from '@tapfleet/schemas';
import { createRedis } from '@tapfleet/runtime';
import { withTimeout, type ServiceDirs, type StackService } from './service.js';

/** redis-server with an append-only file, so inventory survives a restart. */
export function redisService(config: TapfleetConfig): StackService {
  const url = new URL(config.redis.url);
  const port = Number(url.port);
  return {
    name: 'redis',
    binary: 'redis-server',
    host: url.hostname,
    port,
    extraPorts: [],
    startTimeoutMs: 10_000,
    prepare: (dirs: ServiceDirs) => [
      '--bind', url.hostname,
      '--port', String(port),
      '--dir', dirs.data,
      '--appendonly', 'yes',
      '--daemonize', 'no',
      '--save', '',
      '--protected-mode', 'yes',
    ],
    async checkHealth() {
      const redis = createRedis(config, { failFast: true, connectTimeoutMs: 1500 });
      redis.on('error', () => {}); // the rejected promise below carries the reason
      try {
        await withTimeout(redis.connect(), 2000, 'redis-server');
        const pong = await withTimeout(redis.ping(), 2000, 'redis-server');
        if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
      } finally {
        redis.disconnect();
      }
    },
  };
}
