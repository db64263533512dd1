import type { Counter, Histogram, Registry } from 'prom-client';
import { promMetrics } from '@tapfleet/runtime';

export interface QueryMetrics {
  requests: Counter<'route' | 'status'>;
  seconds: Histogram<'route'>;
}

export function queryMetrics(registry: Registry): QueryMetrics {
  const { Counter, Histogram } = promMetrics();
  return {
    requests: new Counter({ name: 'tapfleet_query_requests_total', help: 'API requests by route and HTTP status', labelNames: ['route', 'status'], registers: [registry] }),
    seconds: new Histogram({
      name: 'tapfleet_query_request_seconds', help: 'API request time by route, ClickHouse included', labelNames: ['route'], registers: [registry],
      buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
    }),
  };
}
