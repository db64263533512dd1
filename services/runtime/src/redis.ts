import { Redis } from 'ioredis';
import type { TapfleetConfig } from '@tapfleet/schemas';

export type { Redis };

export interface RedisClientOptions {
  /** Fail a command at once while disconnected instead of queueing it (CLI, health checks). */
  failFast?: boolean;
  connectTimeoutMs?: number;
}

/** The one Redis client factory. */
export function createRedis(config: TapfleetConfig, options: RedisClientOptions = {}): Redis {
  return new Redis(config.redis.url, {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    enableOfflineQueue: !options.failFast,
    maxRetriesPerRequest: options.failFast ? 0 : 20,
    retryStrategy: options.failFast ? () => null : (attempt: number) => Math.min(attempt * 100, 2000),
  });
}
