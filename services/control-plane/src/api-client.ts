import { ApiError, type TapfleetConfig } from '@tapfleet/schemas';
import type { z } from 'zod/v3';
import { callJson, cliBearerToken, serviceTrust, type ClientTlsMaterial } from '@tapfleet/runtime';

/** An API answer other than 2xx, with the server's code and (for 400) the failing fields. */
export class ApiCallError extends Error {
  constructor(readonly status: number, readonly body: ApiError | undefined, text: string) {
    super(body ? `${body.error.message}${body.error.issues?.length ? `\n${body.error.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}` : ''}` : `HTTP ${status}: ${text.slice(0, 200)}`);
  }
}

/** The CLI's way to the control plane: base URL and bearer token from config, env, or the local admin token file. */
export class ApiClient {
  constructor(readonly baseUrl: string, private readonly token: string | undefined, private readonly tls?: ClientTlsMaterial) {}

  static fromConfig(config: TapfleetConfig): ApiClient {
    return new ApiClient(config.controlPlane.url.replace(/\/$/, ''), cliBearerToken(config), serviceTrust(config.controlPlane.caFile, 'control plane'));
  }

  async call<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.output<S>> {
    return callJson('control plane', `${this.baseUrl}${path}`, {
      method,
      headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(this.tls ? { tls: this.tls } : {}),
    }, schema, (f) => new ApiCallError(f.status, f.body, f.text));
  }
}
