import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseOrThrow, TapfleetConfig, TapfleetConfigFile } from '@tapfleet/schemas';
import { DEFAULT_DATA_DIR } from './paths.js';

/** Environment variables the loader reads; each overrides the file and the defaults. */
export const CONFIG_ENV = {
  TAPFLEET_CONFIG: 'path of an optional JSON config file',
  TAPFLEET_DATA_DIR: 'project-local state directory (default: <repo>/.tapfleet)',
  TAPFLEET_LOG_LEVEL: 'trace|debug|info|warn|error|fatal|silent',
  TAPFLEET_NATS_URL: 'nats://HOST:PORT',
  TAPFLEET_NATS_MONITOR_PORT: 'HTTP monitoring port of the stack nats-server',
  TAPFLEET_NATS_URLS: 'every server of a NATS cluster, comma-separated nats://HOST:PORT (clients fail over between them)',
  TAPFLEET_NATS_CLUSTER: 'nodes of the NATS cluster `stack up` runs (default 1: one server at TAPFLEET_NATS_URL)',
  TAPFLEET_NATS_CLUSTER_PORT_BASE: 'first port of the stack NATS cluster (node i: client, route, monitor from base + 3(i-1))',
  TAPFLEET_NATS_REPLICAS: 'JetStream replicas of streams and buckets (default: min(3, cluster nodes))',
  TAPFLEET_CLICKHOUSE_URL: 'http://HOST:PORT',
  TAPFLEET_CLICKHOUSE_TCP_PORT: 'native port of the stack clickhouse-server',
  TAPFLEET_CLICKHOUSE_DATABASE: 'database name',
  TAPFLEET_CLICKHOUSE_PASSWORD: 'password of the ClickHouse user (default: read from <dataDir>/stack-auth/clickhouse.password)',
  TAPFLEET_CLICKHOUSE_PASSWORD_FILE: 'file holding the ClickHouse password',
  TAPFLEET_REDIS_URL: 'redis://HOST:PORT[/DB]',
  TAPFLEET_REDIS_PASSWORD: 'Redis AUTH password (default: read from <dataDir>/stack-auth/redis.password)',
  TAPFLEET_REDIS_PASSWORD_FILE: 'file holding the Redis AUTH password',
  TAPFLEET_CONTROL_PLANE_URL: 'where CLI commands reach the control plane API',
  TAPFLEET_TOKEN: 'bearer token for CLI commands (default: the local admin token file)',
  TAPFLEET_NATS_CREDS: 'NATS credentials file of this process (default: by identity under <dataDir>/nats-auth)',
  TAPFLEET_JOIN_TOKEN: 'agent enrollment token (tapfleet token create NAME --role agent)',
  TAPFLEET_OTLP_URL: "the assembler's OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces",
  TAPFLEET_JAEGER_OTLP_HTTP_PORT: 'OTLP/HTTP port of the stack Jaeger (`stack up --with jaeger`)',
  TAPFLEET_JAEGER_OTLP_GRPC_PORT: 'OTLP/gRPC port of the stack Jaeger',
  TAPFLEET_JAEGER_QUERY_PORT: 'query API and UI port of the stack Jaeger (its gRPC query port is the one below)',
} as const;

type Env = Record<string, string | undefined>;
type Json = Record<string, unknown>;

function readConfigFile(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseOrThrow(TapfleetConfigFile, json, `config file ${path}`) as Json;
}

const intOrText = (v: string) => (/^[0-9]+$/.test(v) ? Number(v) : v);

function envOverrides(env: Env): Json {
  const out: Record<string, Json> = { nats: {}, clickhouse: {}, redis: {}, controlPlane: {}, agent: {}, assembler: {}, jaeger: {} };
  const top: Json = {};
  const set = (section: string | null, key: string, value: string | undefined, numeric = false) => {
    if (value === undefined || value === '') return;
    const v = numeric ? intOrText(value) : value;
    if (section === null) top[key] = v;
    else (out[section] as Json)[key] = v;
  };
  set(null, 'dataDir', env.TAPFLEET_DATA_DIR);
  set(null, 'logLevel', env.TAPFLEET_LOG_LEVEL);
  set('nats', 'url', env.TAPFLEET_NATS_URL);
  set('nats', 'monitorPort', env.TAPFLEET_NATS_MONITOR_PORT, true);
  if (env.TAPFLEET_NATS_URLS) (out.nats as Json).urls = env.TAPFLEET_NATS_URLS.split(',').map((u) => u.trim()).filter(Boolean);
  set('nats', 'replicas', env.TAPFLEET_NATS_REPLICAS, true);
  const cluster: Json = {};
  if (env.TAPFLEET_NATS_CLUSTER) cluster.nodes = intOrText(env.TAPFLEET_NATS_CLUSTER);
  if (env.TAPFLEET_NATS_CLUSTER_PORT_BASE) cluster.portBase = intOrText(env.TAPFLEET_NATS_CLUSTER_PORT_BASE);
  if (Object.keys(cluster).length) (out.nats as Json).cluster = cluster;
  set('clickhouse', 'url', env.TAPFLEET_CLICKHOUSE_URL);
  set('clickhouse', 'tcpPort', env.TAPFLEET_CLICKHOUSE_TCP_PORT, true);
  set('clickhouse', 'database', env.TAPFLEET_CLICKHOUSE_DATABASE);
  set('clickhouse', 'password', env.TAPFLEET_CLICKHOUSE_PASSWORD);
  set('clickhouse', 'passwordFile', env.TAPFLEET_CLICKHOUSE_PASSWORD_FILE);
  set('redis', 'url', env.TAPFLEET_REDIS_URL);
  set('redis', 'password', env.TAPFLEET_REDIS_PASSWORD);
  set('redis', 'passwordFile', env.TAPFLEET_REDIS_PASSWORD_FILE);
  set('controlPlane', 'url', env.TAPFLEET_CONTROL_PLANE_URL);
  set('controlPlane', 'token', env.TAPFLEET_TOKEN);
  set('nats', 'credsFile', env.TAPFLEET_NATS_CREDS);
  set('agent', 'joinToken', env.TAPFLEET_JOIN_TOKEN);
  if (env.TAPFLEET_OTLP_URL) (out.assembler as Record<string, Json>).otlp = { url: env.TAPFLEET_OTLP_URL };
  set('jaeger', 'otlpHttpPort', env.TAPFLEET_JAEGER_OTLP_HTTP_PORT, true);
  set('jaeger', 'otlpGrpcPort', env.TAPFLEET_JAEGER_OTLP_GRPC_PORT, true);
  set('jaeger', 'queryPort', env.TAPFLEET_JAEGER_QUERY_PORT, true);
  return { ...top, ...out };
}

/** `over` laid onto `base`, object by object (arrays and scalars replaced): how config layers combine. */
export function mergeConfig(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' ? mergeConfig(prev as Json, v as Json) : v;
  }
  return out;
}

export interface LoadConfigOptions {
  /** Explicit file (a `--config` flag); otherwise TAPFLEET_CONFIG, otherwise none. */
  file?: string;
  env?: Env;
  /** Programmatic overrides applied last (tests, flags). */
  overrides?: Json;
}

/** The one config loader: defaults < file < environment < overrides, validated by zod. */
export function loadConfig(options: LoadConfigOptions = {}): TapfleetConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.TAPFLEET_CONFIG;
  let raw: Json = { dataDir: DEFAULT_DATA_DIR };
  if (file) raw = mergeConfig(raw, readConfigFile(file));
  raw = mergeConfig(raw, envOverrides(env));
  if (options.overrides) raw = mergeConfig(raw, options.overrides);
  const config = parseOrThrow(TapfleetConfig, raw, 'configuration');
  return { ...config, dataDir: resolve(config.dataDir) };
}
