import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerTlsMaterial } from './tls-material.js';
import type { Registry } from 'prom-client';
import { nodeHttp, nodeHttps } from './client-modules.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface ServiceHttpOptions {
  host: string;
  port: number;
  registry: Registry;
  /** `/healthz` answers 200 when this returns null, else 503 with the reason. */
  health: () => string | null;
  /** Everything else (the control plane's API); 404 when absent. */
  handler?: Handler;
  onError?: (e: unknown) => void;
  /** Serve HTTPS with this certificate (the control plane's and query service's `tls`). */
  tls?: ServerTlsMaterial;
}

export interface ServiceHttp {
  server: Server;
  port: number;
  /** `https` when it serves TLS. */
  scheme: 'http' | 'https';
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Every long-running tapfleet process serves `/metrics` (Prometheus text) and `/healthz` on this. */
export async function startServiceHttp(o: ServiceHttpOptions): Promise<ServiceHttp> {
  const listener: RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const run = async () => {
      if (req.method === 'GET' && path === '/metrics') {
        const text = await o.registry.metrics();
        res.writeHead(200, { 'content-type': o.registry.contentType });
        res.end(text);
      } else if (req.method === 'GET' && path === '/healthz') {
        const problem = o.health();
        sendJson(res, problem ? 503 : 200, problem ? { ok: false, reason: problem } : { ok: true });
      } else if (o.handler) {
        await o.handler(req, res);
      } else {
        sendJson(res, 404, { error: { code: 'not_found', message: `no route ${req.method} ${path}` } });
      }
    };
    run().catch((e) => {
      o.onError?.(e);
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: (e as Error).message } });
      else res.end();
    });
  };
  const server: Server = o.tls ? nodeHttps().createServer(o.tls, listener) : nodeHttp().createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    scheme: o.tls ? 'https' : 'http',
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** `/metrics` and `/healthz` of a service whose health is its NATS connection, errors logged. */
export function startBusServiceHttp(o: { host: string; port: number; registry: Registry; nc: { isClosed(): boolean }; log: { error(obj: object, msg: string): void } }): Promise<ServiceHttp> {
  return startServiceHttp({
    host: o.host,
    port: o.port,
    registry: o.registry,
    health: () => (o.nc.isClosed() ? 'NATS connection closed' : null),
    onError: (e) => o.log.error({ err: (e as Error).message }, 'http handler failed'),
  });
}
