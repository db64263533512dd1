import { createClickHouse, createMetricsRegistry, createRedis, sendJson, serverTlsMaterial, startServiceHttp, TokenStore, type ClickHouseClient, type Logger, type ServiceHttp } from '@tapfleet/runtime';
import type { TapfleetConfig } from '@tapfleet/schemas';
import type { Redis } from 'ioredis';
import { queryApi } from './api-routes.js';
import { clickHouseRows } from './clickhouse-rows.js';
import { pageFiles } from './page-files.js';
import { queryMetrics } from './query-metrics.js';
import { QueryStore } from './query-store.js';

/**
 * The query service process: the history API, the web page, `/metrics` and `/healthz` on one
 * port. Stateless: ClickHouse holds the history, Redis the control plane's API tokens.
 */
export class QueryService {
  private constructor(readonly http: ServiceHttp, private readonly ch: ClickHouseClient, private readonly redis: Redis, private readonly log: Logger) {}

  get url(): string {
    return `http://127.0.0.1:${this.http.port}`;
  }

  static async start(config: TapfleetConfig, log: Logger): Promise<QueryService> {
    const ch = createClickHouse(config);
    const redis = createRedis(config);
    const registry = createMetricsRegistry('tapfleet_query_');
    const metrics = queryMetrics(registry);
    const tokens = new TokenStore(redis, (store, key, reason) => log.warn({ store, key, reason }, 'unreadable token record: it authenticates nobody'));
    const api = queryApi({ store: new QueryStore(clickHouseRows(ch), config.clickhouse.database), tokens, metrics, log });
    const page = pageFiles();
    const http = await startServiceHttp({
      host: config.query.host,
      port: config.query.port,
      registry,
      // Reads need ClickHouse and Redis; each request reports its own failure, so health is the process being up.
      health: () => (redis.status === 'end' ? 'redis connection closed' : null),
      handler: async (req, res) => {
        if (await api(req, res)) return;
        if (page(req, res)) return;
        sendJson(res, 404, { error: { code: 'not_found', message: `no route ${req.method} ${(req.url ?? '/').split('?')[0]}` } });
      },
      onError: (e) => log.error({ err: (e as Error).message }, 'query HTTP handler failed'),
      ...(config.query.tls ? { tls: serverTlsMaterial(config.query.tls, 'query service') } : {}),
    });
    log.info({ host: config.query.host, port: http.port, clickhouse: config.clickhouse.url }, 'query service listening');
    return new QueryService(http, ch, redis, log);
  }

  async stop(): Promise<void> {
    await this.http.close();
    await this.ch.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
    this.log.info('query service stopped');
  }
}
