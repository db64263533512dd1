import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ObjectStore } from '@nats-io/obj';
import { sendJson, type Logger } from '@tapfleet/runtime';
import {
  AggregationSnapshot, CreateDeploymentRequest, CreateTokenRequest, DeploymentId, issuesOf, parseBundle,
  type ApiError, type BundleManifest, type CreateTokenResponse, type Role,
} from '@tapfleet/schemas';
import type { z } from 'zod';
import { mergeSnapshots } from './aggregation-merge.js';
import { CompileQueueFullError } from './compile-queue.js';
import type { ControlPlaneMetrics } from './control-plane-metrics.js';
import { DeploymentRequestError, type DeploymentService } from './deployment-service.js';
import type { DeploymentStore } from './deployment-store.js';
import type { Inventory } from './inventory.js';
import { roleAllows, type TokenRecord, type TokenStore } from './token-store.js';

const MAX_BODY = 2 << 20;

class HttpError extends Error {
  constructor(readonly status: number, readonly body: ApiError) {
    super(body.error.message);
  }
}

const fail = (status: number, code: string, message: string, issues?: ApiError['error']['issues']) =>
  new HttpError(status, { error: { code, message, ...(issues ? { issues } : {}) } });

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw fail(413, 'body_too_large', `request body over ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw fail(400, 'invalid_json', `request body is not JSON: ${(e as Error).message}`);
  }
}

function validate<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issues = issuesOf(r.error);
  throw fail(400, 'invalid_body', `invalid request body: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, issues);
}

export interface ApiDeps {
  /** Loss accounting reads ClickHouse (what ingest stored, the agents' last reports). */
  loss: (deploymentId: string) => Promise<unknown>;
  tokens: TokenStore;
  inventory: Inventory;
  store: DeploymentStore;
  deployments: DeploymentService;
  bundles: ObjectStore;
  metrics: ControlPlaneMetrics;
  log: Logger;
}

type Route = { method: string; pattern: RegExp; name: string; role: Role; run: (req: IncomingMessage, m: RegExpExecArray, who: TokenRecord) => Promise<[number, unknown]> };

/** The control plane's HTTP API: bearer-token auth with roles, zod-validated bodies, JSON errors. */
export function apiHandler(d: ApiDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const manifests = new Map<string, BundleManifest>();
  const manifestOf = async (bundleId: string): Promise<BundleManifest> => {
    let m = manifests.get(bundleId);
    if (!m) {
      const bytes = await d.bundles.getBlob(bundleId);
      if (!bytes) throw fail(404, 'bundle_missing', `bundle ${bundleId} is not in the object store`);
      m = parseBundle(new TextDecoder().decode(bytes)).manifest;
      manifests.set(bundleId, m);
    }
    return m;
  };
  const deploymentId = (m: RegExpExecArray) => {
    const r = DeploymentId.safeParse(m[1]);
    if (!r.success) throw fail(400, 'invalid_id', `'${m[1]}' is not a deployment id`, [{ path: 'id', message: r.error.issues[0]!.message }]);
    return r.data;
  };
  const routes: Route[] = [
    { method: 'GET', pattern: /^\/v1\/hosts$/, name: 'hosts', role: 'viewer', run: async () => [200, await d.inventory.list()] },
    { method: 'GET', pattern: /^\/v1\/deployments$/, name: 'deployments', role: 'viewer', run: async () => [200, await d.store.list()] },
    {
      method: 'POST', pattern: /^\/v1\/deployments$/, name: 'deploy', role: 'operator',
      run: async (req) => [201, await d.deployments.create(validate(CreateDeploymentRequest, await readJson(req)))],
    },
    {
      method: 'GET', pattern: /^\/v1\/deployments\/([^/]+)$/, name: 'deployment', role: 'viewer',
      run: async (_req, m) => {
        const view = await d.store.view(deploymentId(m));
        if (!view) throw fail(404, 'not_found', `no deployment ${m[1]}`);
        return [200, view];
      },
    },
    { method: 'POST', pattern: /^\/v1\/deployments\/([^/]+)\/stop$/, name: 'stop', role: 'operator', run: async (_req, m, who) => [200, await d.deployments.stop(deploymentId(m), who.name)] },
    {
      method: 'GET', pattern: /^\/v1\/deployments\/([^/]+)\/aggs$/, name: 'aggs', role: 'viewer',
      run: async (_req, m) => {
        const dep = await d.store.get(deploymentId(m));
        if (!dep) throw fail(404, 'not_found', `no deployment ${m[1]}`);
        const bundleId = Object.values(dep.bundles)[0];
        const layouts = bundleId ? (await manifestOf(bundleId)).maps : [];
        const snapshots = Object.values(await d.store.aggregations(dep.id)).flatMap((json) => {
          const r = AggregationSnapshot.safeParse(JSON.parse(json));
          return r.success ? [r.data] : [];
        });
        return [200, mergeSnapshots(dep.id, layouts, snapshots)];
      },
    },
    {
      method: 'GET', pattern: /^\/v1\/deployments\/([^/]+)\/loss$/, name: 'loss', role: 'viewer',
      run: async (_req, m) => {
        const id = deploymentId(m);
        if (!(await d.store.get(id))) throw fail(404, 'not_found', `no deployment ${id}`);
        try {
          return [200, await d.loss(id)];
        } catch (e) {
          // Loss accounting reads what ingest stored; without ClickHouse there is nothing to reconcile.
          throw fail(503, 'clickhouse_unavailable', `loss accounting needs ClickHouse, which did not answer: ${(e as Error).message}`);
        }
      },
    },
    {
      method: 'POST', pattern: /^\/v1\/tokens$/, name: 'tokens', role: 'admin',
      run: async (req) => {
        const body = validate(CreateTokenRequest, await readJson(req));
        const out: CreateTokenResponse = { ...body, token: await d.tokens.create(body.name, body.role) };
        return [201, out];
      },
    },
  ];

  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    let routeName = 'unknown';
    let status = 500;
    try {
      const matches = routes.filter((r) => r.pattern.test(path));
      const route = matches.find((r) => r.method === req.method);
      if (!route) throw matches.length ? fail(405, 'method_not_allowed', `${req.method} not allowed on ${path}`) : fail(404, 'not_found', `no route ${path}`);
      routeName = route.name;
      const auth = req.headers.authorization;
      if (!auth?.startsWith('Bearer ')) throw fail(401, 'unauthenticated', 'missing bearer token (Authorization: Bearer TOKEN)');
      const who = await d.tokens.lookup(auth.slice(7).trim());
      if (!who) throw fail(401, 'unauthenticated', 'unknown token');
      if (!roleAllows(who.role, route.role)) throw fail(403, 'forbidden', `${route.name} needs the ${route.role} role; token '${who.name}' is ${who.role}`);
      const [code, body] = await route.run(req, route.pattern.exec(path)!, who);
      status = code;
      sendJson(res, code, body);
    } catch (e) {
      if (e instanceof HttpError) {
        status = e.status;
        sendJson(res, e.status, e.body);
      } else if (e instanceof CompileQueueFullError) {
        status = 503;
        res.setHeader('retry-after', String(e.retryAfterS));
        sendJson(res, 503, { error: { code: 'compile_queue_full', message: e.message } } satisfies ApiError);
      } else if (e instanceof DeploymentRequestError) {
        status = e.status;
        sendJson(res, e.status, { error: { code: e.code, message: e.message } } satisfies ApiError);
      } else {
        d.log.error({ err: (e as Error).message, stack: (e as Error).stack, path }, 'API request failed');
        status = 500;
        sendJson(res, 500, { error: { code: 'internal', message: (e as Error).message } } satisfies ApiError);
      }
    } finally {
      d.metrics.requests.inc({ route: routeName, status: String(status) });
    }
  };
}
