import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TapfleetConfig } from '@tapfleet/schemas';

/**
 * Passwords of the stores the local stack runs (Redis, ClickHouse). Without them any local
 * user could write an admin token record into Redis or read every traced event from
 * ClickHouse. `tapfleet stack up` creates each once (random, 0600, in a 0700 directory)
 * before it starts the server; every client reads it through the factories, so nobody
 * passes a password by hand. An explicit `password` in the config wins over the file.
 */
export const stackAuthDir = (config: TapfleetConfig): string => join(config.dataDir, 'stack-auth');
export const redisPasswordFile = (config: TapfleetConfig): string => config.redis.passwordFile ?? join(stackAuthDir(config), 'redis.password');
export const clickhousePasswordFile = (config: TapfleetConfig): string =>
  config.clickhouse.passwordFile ?? join(stackAuthDir(config), 'clickhouse.password');

/** The file's password, or undefined when it does not exist (a server run without one). */
function readPasswordFile(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read password file ${path}: ${(e as Error).message}`);
  }
  const password = text.trim();
  return password === '' ? undefined : password;
}

/** The password Redis clients send: explicit config, else the password file, else none. */
export const redisPassword = (config: TapfleetConfig): string | undefined => config.redis.password ?? readPasswordFile(redisPasswordFile(config));
/** The Redis Sentinels' own password (`redis.sentinel.sentinelPasswordFile`): configured, so it must exist. */
export function redisSentinelPassword(config: TapfleetConfig): string | undefined {
  const file = config.redis.sentinel?.sentinelPasswordFile;
  if (!file) return undefined;
  const password = readPasswordFile(file);
  if (password === undefined) throw new Error(`redis.sentinel.sentinelPasswordFile ${file} does not exist or is empty`);
  return password;
}
/** The password ClickHouse clients send: explicit config, else the password file, else none. */
export const clickhousePassword = (config: TapfleetConfig): string | undefined =>
  config.clickhouse.password ?? readPasswordFile(clickhousePasswordFile(config));

/** Writes a secret readable by its owner only (also when the file already existed with wider bits). */
export function writeSecretFile(path: string, data: string): void {
  writeFileSync(path, data, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The password in `path`, created (random, 0600, parent 0700) when missing; kept across restarts. */
function ensurePasswordFile(path: string): string {
  const existing = readPasswordFile(path);
  if (existing !== undefined) return existing;
  // 0700 when created here (the umask only narrows it); an existing directory is left as its owner set it.
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Hex: safe unquoted in redis.conf and in XML, and 256 bits.
  const password = randomBytes(32).toString('hex');
  writeSecretFile(path, `${password}\n`);
  return password;
}

/**
 * The password nats-server cluster routes authenticate with (operator mode covers clients,
 * not routes): without it any local process could join the cluster as a node and read every
 * stream. Only the stack's nodes use it; clients never do.
 */
export const natsRoutePasswordFile = (config: TapfleetConfig): string => join(stackAuthDir(config), 'nats-route.password');
export const ensureNatsRoutePassword = (config: TapfleetConfig): string => ensurePasswordFile(natsRoutePasswordFile(config));

/** What the stack starts redis-server with: the configured password, else the stack's file (created once). */
export const ensureRedisPassword = (config: TapfleetConfig): string => config.redis.password ?? ensurePasswordFile(redisPasswordFile(config));
/** What the stack starts clickhouse-server with: the configured password, else the stack's file (created once). */
export const ensureClickhousePassword = (config: TapfleetConfig): string =>
  config.clickhouse.password ?? ensurePasswordFile(clickhousePasswordFile(config));

/**
 * A clickhouse-client config file (0600, in the stack-auth directory) carrying the user and
 * password, for `clickhouse-client --config-file FILE`: on the command line the password
 * would be visible to every local user through `ps`.
 */
export function clickhouseClientConfigFile(config: TapfleetConfig): string {
  const dir = stackAuthDir(config);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'clickhouse-client.xml');
  const x = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const password = clickhousePassword(config) ?? '';
  writeSecretFile(path, `<?xml version="1.0"?>\n<config>\n  <user>${x(config.clickhouse.username)}</user>\n  <password>${x(password)}</password>\n</config>\n`);
  return path;
}
