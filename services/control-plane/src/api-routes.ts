import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ObjectStore } from '@nats-io/obj';
import { sendJson, type Logger } from '@tapfleet/runtime';
import {
  AggregationSnapshot, CreateDeploymentRequest, CreateTokenRequest, DeploymentId, EnrollRequest, issuesOf, parseBundle,
  type ApiError, type BundleManifest, type CreateTokenResponse, type Role, type UnknownDeploymentStopped,
} from '@tapfleet/schemas';
import type { z } from 'zod/v3';
import { mergeSnapshots } from './aggregation-merge.js';
import { CompileQueueFullError } from './compile-queue.js';
import type { ControlPlaneMetrics } from './control-plane-metrics.js';
import { DeploymentRequestError, type DeploymentService } from './deployment-service.js';
import type { DeploymentStore } from './deployment-store.js';
import type { Enrollment } from './enrollment.js';
import type { Inventory } from './inventory.js';
import type { UnknownDeployments } from './unknown-deployments.js';
import { CorruptRecordError, type SkippedRecord } from '@tapfleet/runtime';
import { roleAllows, type TokenRecord, type TokenStore } from '@tapfleet/runtime';

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
  unknown: UnknownDeployments;
  enrollment: Enrollment;
  /** Rewrites a host's signed assignment set without the deployment (stopping an unknown one). */
  removeAssignment: (hostId: string, deploymentId: string) => Promise<unknown>;
  bundles: ObjectStore;
  metrics: ControlPlaneMetrics;
  log: Logger;
}

/** Status, body, and for lists that skipped unreadable records the header naming them. */
type Answer = [number, unknown] | [number, unknown, Record<string, string>];
type Route = { method: string; pattern: RegExp; name: string; role: Role; run: (req: IncomingMessage, m: RegExpExecArray, who: TokenRecord) => Promise<Answer> };

/** Header on a list answer that left out records the control plane cannot read (details in its log and metrics). */
export const SKIPPED_HEADER = 'tapfleet-skipped-records';

/** A list answer keeps its shape (an array) and names what it skipped in a header, printable ASCII only. */
function listAnswer(items: unknown[], skipped: SkippedRecord[]): Answer {
  if (!skipped.length) return [200, items];
  const text = `${skipped.length} unreadable: ${skipped.map((s) => `${s.key} (${s.reason})`).join('; ')}`;
  return [200, items, { [SKIPPED_HEADER]: text.replace(/[^\x20-\x7e]/g, '?').slice(0, 2000) }];
}

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
    {
      method: 'GET', pattern: /^\/v1\/hosts$/, name: 'hosts', role: 'viewer',
      run: async () => {
        const { hosts, skipped } = await d.inventory.list();
        return listAnswer(hosts, skipped);
      },
    },
    {
      method: 'GET', pattern: /^\/v1\/deployments$/, name: 'deployments', role: 'viewer',
      run: async () => {
        const { deployments, skipped } = await d.store.list();
        return listAnswer(deployments, skipped);
      }
    },
    { method: 'GET', pattern: /^\/v1\/deployments\/unknown$/, name: 'unknown-deployments', role: 'viewer', run: async () => [200, await d.unknown.list()] },
    {
      method: 'POST', pattern: /^\/v1\/agents\/enroll$/, name: 'enroll', role: 'agent',
      run: async (req, _m, who) => [200, await d.enrollment.enroll(validate(EnrollRequest, await readJson(req)), who)],
    },
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
    {
      method: 'POST', pattern: /^\/v1\/deployments\/([^/]+)\/stop$/, name: 'stop', role: 'operator',
      run: async (_req, m, who) => {
        const id = deploymentId(m);
        if (await d.store.get(id)) return [200, await d.deployments.stop(id, who.name)];
        // Not ours, but hosts report it: tell each of them to stop it (a signed set without it).
        const u = await d.unknown.stop(id, d.removeAssignment);
        if (!u) throw fail(404, 'not_found', `no deployment ${id}, and no host reports one`);
        d.log.warn({ deploymentId: id, hosts: Object.keys(u.hosts), by: who.name }, 'unknown deployment stopped');
        const out: UnknownDeploymentStopped = { ...u, stopping: true };
        return [200, out];
      },
    },
    {
      method: 'GET', pattern: /^\/v1\/deployments\/([^/]+)\/aggs$/, name: 'aggs', role: 'viewer',
      run: async (_req, m) => {
        const dep = await d.store.get(deploymentId(m));
        if (!dep) throw fail(404, 'not_found', `no deployment ${m[1]}`);
        const bundleId = Object.values(dep.bundles)[0];
        const layouts = bundleId ? (await manifestOf(bundleId)).maps : [];
        // Only the hosts this deployment targets, with the bundle each was given: any enrolled host
        // can publish a snapshot under any deployment id on its own subject.
        const snapshots = (await d.store.aggregations(dep.id)).filter((s) => dep.targets.some((t) => t.hostId === s.hostId && t.bundleId === s.bundleId));
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
      const [code, body, headers] = await route.run(req, route.pattern.exec(path)!, who);
      status = code;
      for (const [k, v] of Object.entries(headers ?? {})) res.setHeader(k, v);
      sendJson(res, code, body);
    } catch (e) {
      if (e instanceof HttpError) {
        status = e.status;
        sendJson(res, e.status, e.body);
      } else if (e instanceof CorruptRecordError) {
        // Already logged and counted by the store; the operator gets the key and what is wrong with it.
        status = 500;
        sendJson(res, 500, { error: { code: 'corrupt_record', message: e.message } } satisfies ApiError);
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
