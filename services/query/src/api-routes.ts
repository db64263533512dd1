import type { IncomingMessage, ServerResponse } from 'node:http';
import { roleAllows, sendJson, type Logger, type TokenStore } from '@tapfleet/runtime';
import {
  AggsQuery, CompareQuery, EventsQuery, HopsQuery, issuesOf, LatencyQuery, RankQuery, SlowestQuery, TxnQuery, type ApiError,
} from '@tapfleet/schemas';
import type { z } from 'zod/v3';
import { CursorError } from './events-cursor.js';
import { FieldFilterError } from './field-filters.js';
import { HistoryStoreError } from './clickhouse-rows.js';
import type { QueryMetrics } from './query-metrics.js';
import type { QueryStore } from './query-store.js';

class HttpError extends Error {
  constructor(readonly status: number, readonly body: ApiError) {
    super(body.error.message);
  }
}

const fail = (status: number, code: string, message: string, issues?: ApiError['error']['issues']) =>
  new HttpError(status, { error: { code, message, ...(issues ? { issues } : {}) } });

/** Parameters that may repeat (`where=a=1&where=b=2`); every other one is read once. */
const LIST_PARAMS = new Set(['where']);

/** The query string checked against the endpoint's schema; a 400 names each offending parameter. */
function params<S extends z.ZodType>(schema: S, search: URLSearchParams): z.output<S> {
  const raw: Record<string, string | string[]> = {};
  for (const key of new Set(search.keys())) raw[key] = LIST_PARAMS.has(key) ? search.getAll(key) : search.get(key)!;
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issues = issuesOf(r.error);
  throw fail(400, 'invalid_params', `invalid parameters: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, issues);
}

type Route = { path: string; name: string; run: (search: URLSearchParams) => Promise<unknown> };

export interface QueryApiDeps {
  store: QueryStore;
  tokens: TokenStore;
  metrics: QueryMetrics;
  log: Logger;
}

/** Every API route reads history, so every one needs the viewer role (or more). */
export function queryApi(d: QueryApiDeps): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const s = d.store;
  const routes: Route[] = [
    { path: '/v1/txn', name: 'txn', run: (p) => s.txn(params(TxnQuery, p)) },
    { path: '/v1/hops', name: 'hops', run: (p) => s.hops(params(HopsQuery, p)) },
    { path: '/v1/latency', name: 'latency', run: (p) => s.latency(params(LatencyQuery, p)) },
    { path: '/v1/slowest', name: 'slowest', run: (p) => s.slowest(params(SlowestQuery, p)) },
    { path: '/v1/compare', name: 'compare', run: (p) => s.compare(params(CompareQuery, p)) },
    { path: '/v1/rank', name: 'rank', run: (p) => s.rank(params(RankQuery, p)) },
    { path: '/v1/events', name: 'events', run: (p) => s.events(params(EventsQuery, p)) },
    { path: '/v1/aggregations', name: 'aggregations', run: (p) => s.aggregations(params(AggsQuery, p)) },
  ];

  /** Answers an API request and returns true, or returns false for a path that is not the API's. */
  return async (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://query.invalid');
    } catch {
      // A request target Node's parser lets through but WHATWG URL refuses (`//[/v1/txn`): the client's fault, not a 500.
      d.metrics.requests.inc({ route: 'unknown', status: '400' });
      sendJson(res, 400, { error: { code: 'bad_request', message: 'the request target is not a valid URL' } } satisfies ApiError);
      return true;
    }
    if (!url.pathname.startsWith('/v1/')) return false;
    let routeName = 'unknown';
    let status = 500;
    const started = process.hrtime.bigint();
    try {
      const route = routes.find((r) => r.path === url.pathname);
      if (!route) throw fail(404, 'not_found', `no route ${url.pathname}`);
      routeName = route.name;
      if (req.method !== 'GET') throw fail(405, 'method_not_allowed', `${req.method} not allowed on ${url.pathname}`);
      const auth = req.headers.authorization;
      if (!auth?.startsWith('Bearer ')) throw fail(401, 'unauthenticated', 'missing bearer token (Authorization: Bearer TOKEN)');
      const who = await d.tokens.lookup(auth.slice(7).trim());
      if (!who) throw fail(401, 'unauthenticated', 'unknown token');
      if (!roleAllows(who.role, 'viewer')) throw fail(403, 'forbidden', `${route.name} needs the viewer role; token '${who.name}' is ${who.role}`);
      const body = await route.run(url.searchParams);
      status = 200;
      sendJson(res, 200, body);
    } catch (e) {
      if (e instanceof HttpError) {
        status = e.status;
        sendJson(res, e.status, e.body);
      } else if (e instanceof FieldFilterError || e instanceof CursorError) {
        status = 400;
        const path = e instanceof CursorError ? 'cursor' : 'where';
        sendJson(res, 400, { error: { code: 'invalid_params', message: `invalid parameters: ${path}: ${e.message}`, issues: [{ path, message: e.message }] } } satisfies ApiError);
      } else if (e instanceof HistoryStoreError) {
        d.log.error({ err: e.message, route: routeName }, 'history store query failed');
        status = 503;
        sendJson(res, 503, { error: { code: 'clickhouse_unavailable', message: e.message } } satisfies ApiError);
      } else {
        d.log.error({ err: (e as Error).message, stack: (e as Error).stack, route: routeName }, 'query request failed');
        status = 500;
        sendJson(res, 500, { error: { code: 'internal', message: (e as Error).message } } satisfies ApiError);
      }
    } finally {
      d.metrics.requests.inc({ route: routeName, status: String(status) });
      d.metrics.seconds.observe({ route: routeName }, Number(process.hrtime.bigint() - started) / 1e9);
    }
    return true;
  };
}
