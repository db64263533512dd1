import type { IncomingMessage } from 'node:http';
import type { ClientTlsMaterial } from './tls-material.js';
import { nodeHttp, nodeHttps } from './client-modules.js';

export interface HttpCallInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Whole call, connect to last byte (default 30 s). */
  timeoutMs?: number;
  /** For https:// URLs: the CA to trust instead of the system's, and a client certificate. */
  tls?: ClientTlsMaterial;
  /** Answers larger than this are cut off with an error rather than held in memory (default 64 MiB). */
  maxBytes?: number;
}

export interface HttpAnswer {
  status: number;
  text: string;
}

/**
 * One HTTP(S) request to a tapfleet service. node:https rather than fetch because Node 20's fetch
 * cannot be told which CA to trust per call, and a tapfleet fleet often runs on its own CA.
 */
export function httpCall(url: string, init: HttpCallInit = {}): Promise<HttpAnswer> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  if (!secure && target.protocol !== 'http:') return Promise.reject(new Error(`unsupported URL scheme ${target.protocol} in ${url}`));
  const maxBytes = init.maxBytes ?? 64 << 20;
  const headers = { ...init.headers, ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}) };
  const options = { method: init.method ?? 'GET', headers, timeout: init.timeoutMs ?? 30_000, ...(secure ? tlsOptions(init.tls) : {}) };
  return new Promise((resolve, reject) => {
    const onAnswer = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          req.destroy(new Error(`answer from ${target.origin} exceeds ${maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req = secure ? nodeHttps().request(target, options, onAnswer) : nodeHttp().request(target, options, onAnswer);
    req.on('timeout', () => req.destroy(new Error(`no answer from ${target.origin} within ${options.timeout} ms`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

function tlsOptions(tls: ClientTlsMaterial | undefined): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  if (!tls) return {};
  return { ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}) };
}
