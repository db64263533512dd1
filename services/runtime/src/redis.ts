import type { Redis } from 'ioredis';
import { ioredis } from './client-modules.js';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { redisPassword, redisSentinelPassword } from './store-auth.js';
import { clientTlsMaterial } from './tls-material.js';

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
  const tls = redisTls(config);
  const { Redis } = ioredis();
  return new Redis(config.redis.url, {
    ...(tls ? { tls } : {}),
    ...sentinelOptions(config, tls),
    ...(password === undefined ? {} : { password }),
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    enableOfflineQueue: !options.failFast,
    maxRetriesPerRequest: options.failFast ? 0 : 20,
    retryStrategy: options.failFast ? () => null : (attempt: number) => Math.min(attempt * 100, 2000),
  });
}

/** `redis.tls` (needs a rediss:// url, so a TLS setting never silently talks in clear). */
function redisTls(config: TapfleetConfig): { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined {
  const secure = config.redis.url.startsWith('rediss:');
  if (config.redis.tls && !secure) throw new Error(`redis.tls is set but redis.url ${config.redis.url} is not rediss://`);
  if (!secure) return undefined;
  return config.redis.tls ? clientTlsMaterial(config.redis.tls, 'Redis') : {};
}

/**
 * `redis.sentinel`: ioredis asks the sentinels for the master and follows failovers; they are
 * reached over TLS too when the url is rediss:// (a fleet that encrypts Redis encrypts Sentinel).
 */
function sentinelOptions(config: TapfleetConfig, tls: ReturnType<typeof redisTls>): Record<string, unknown> {
  const s = config.redis.sentinel;
  if (!s) return {};
  const sentinels = s.nodes.map((n) => {
    const i = n.lastIndexOf(':');
    return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
  });
  const sentinelPassword = redisSentinelPassword(config);
  return {
    sentinels,
    name: s.masterName,
    ...(sentinelPassword ? { sentinelPassword } : {}),
    ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
  };
}
