/**
 * The client libraries (NATS, ClickHouse, Redis, Prometheus) and pino, each required on first use
 * instead of imported at load: `tapfleet --help` or `tapfleet run` never connects to a
 * server and must not pay for (~40 ms, ~10 MB each) what it does not use. All are CommonJS,
 * so a synchronous require keeps every factory here synchronous; it returns the very module
 * object an `import` elsewhere gets (one module cache), so classes and instanceof agree.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function lazy<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}

export const natsTransport = lazy<typeof import('@nats-io/transport-node')>('@nats-io/transport-node');
export const natsJetStream = lazy<typeof import('@nats-io/jetstream')>('@nats-io/jetstream');
export const natsKv = lazy<typeof import('@nats-io/kv')>('@nats-io/kv');
export const natsObj = lazy<typeof import('@nats-io/obj')>('@nats-io/obj');
export const natsJwt = lazy<typeof import('@nats-io/jwt')>('@nats-io/jwt');
export const natsKeys = lazy<typeof import('@nats-io/nkeys')>('@nats-io/nkeys');
export const clickhouseClient = lazy<typeof import('@clickhouse/client')>('@clickhouse/client');
export const ioredis = lazy<typeof import('ioredis')>('ioredis');
type PromClient = typeof import('prom-client');
/**
 * prom-client's registry, metric classes and default metrics, required file by file: its index
 * also loads the cluster aggregator and the Pushgateway (node:cluster, node:http/https clients),
 * which no tapfleet process uses: 2 MB of every process's RSS (issue 13's agent budget).
 */
export interface PromMetrics {
  Registry: PromClient['Registry'];
  Counter: PromClient['Counter'];
  Gauge: PromClient['Gauge'];
  Histogram: PromClient['Histogram'];
  /** One of prom-client's default metrics (lib/metrics/NAME.js): see default-metrics.ts. */
  requireMetric: (name: string) => unknown;
}
let prom: PromMetrics | undefined;
export function promMetrics(): PromMetrics {
  return (prom ??= {
    Registry: require('prom-client/lib/registry') as PromClient['Registry'],
    Counter: require('prom-client/lib/counter') as PromClient['Counter'],
    Gauge: require('prom-client/lib/gauge') as PromClient['Gauge'],
    Histogram: require('prom-client/lib/histogram') as PromClient['Histogram'],
    requireMetric: (name: string) => require(`prom-client/lib/metrics/${name}`) as unknown,
  });
}
export const pinoModule = lazy<typeof import('pino')>('pino');
/**
 * Node's HTTP server and client, for the services and the API calls: loading them (with TLS) cost
 * every command ~3 ms of its start, and `tapfleet run` and `--help` make no HTTP call.
 */
export const nodeHttp = lazy<typeof import('node:http')>('node:http');
export const nodeHttps = lazy<typeof import('node:https')>('node:https');
