import type { Redis } from 'ioredis';
import { ioredis } from './client-modules.js';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { redisPassword } from './store-auth.js';

export type { Redis };

export interface RedisClientOptions {
  /** Fail a command at once while disconnected instead of queueing it (CLI, health checks). */
  failFast?: boolean;
  connectTimeoutMs?: number;
}

/**
 * The one Redis client factory. It sends the configured password, else the stack's
 * password file's (see store-auth.ts); with neither it sends none. The file is read here, so
 * make the client after `stack up` created it.
 */
export function createRedis(config: TapfleetConfig, options: RedisClientOptions = {}): Redis {
  const password = redisPassword(config);
  const { Redis } = ioredis();
  return new Redis(config.redis.url, {
    ...(password === undefined ? {} : { password }),
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    enableOfflineQueue: !options.failFast,
    maxRetriesPerRequest: options.failFast ? 0 : 20,
    retryStrategy: options.failFast ? () => null : (attempt: number) => Math.min(attempt * 100, 2000),
  });
}
