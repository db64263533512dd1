import { callJson, cliBearerToken, serviceTrust, type ClientTlsMaterial } from '@tapfleet/runtime';
import { ApiError, type TapfleetConfig } from '@tapfleet/schemas';
import type { z } from 'zod/v3';

/** An answer other than 200, with the server's message (and for 400 each offending parameter). */
export class QueryCallError extends Error {
  readonly code = 'TAPFLEET_QUERY_CALL';
  constructor(readonly status: number, readonly body: ApiError | undefined, text: string) {
    super(body ? `${body.error.message}` : `HTTP ${status}: ${text.slice(0, 200)}`);
  }
}

/** `tapfleet query ...`'s way to the query service: its URL from config, the same bearer token as the control plane's CLI. */
export class QueryClient {
  constructor(readonly baseUrl: string, private readonly token: string | undefined, private readonly tls?: ClientTlsMaterial) {}

  static fromConfig(config: TapfleetConfig, token = cliBearerToken(config)): QueryClient {
    return new QueryClient(config.query.url.replace(/\/$/, ''), token, serviceTrust(config.query.caFile, 'query service'));
  }

  async get<S extends z.ZodType>(path: string, params: Record<string, string | string[] | undefined>, schema: S): Promise<z.output<S>> {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const one of v === undefined ? [] : Array.isArray(v) ? v : [v]) search.append(k, one);
    return callJson('query service', `${this.baseUrl}${path}?${search}`, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {}, ...(this.tls ? { tls: this.tls } : {}) }, schema, (f) => new QueryCallError(f.status, f.body, f.text));
  }
}
