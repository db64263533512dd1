import { existsSync, readFileSync } from 'node:fs';
import { ApiError, type TapfleetConfig } from '@tapfleet/schemas';
import { adminTokenPath } from './paths.js';
import { httpCall, type HttpAnswer, type HttpCallInit } from './http-call.js';
import { readPemFile, type ClientTlsMaterial } from './tls-material.js';
import type { z } from 'zod/v3';

/** What a tapfleet HTTP service answered other than 2xx: its status, its error body (for 400, each failing field), the raw text. */
export interface JsonCallFailure {
  status: number;
  body: ApiError | undefined;
  text: string;
}

/**
 * One request to a tapfleet HTTP service (control plane, query service) and its answer parsed
 * with `schema`; an unreachable service and a non-2xx answer become errors that say which.
 */
export async function callJson<S extends z.ZodType>(service: string, url: string, init: HttpCallInit, schema: S, failed: (f: JsonCallFailure) => Error): Promise<z.output<S>> {
  let res: HttpAnswer;
  try {
    res = await httpCall(url, init);
  } catch (e) {
    throw new Error(`cannot reach the ${service} at ${new URL(url).origin}: ${(e as Error).message}`);
  }
  const text = res.text;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.status < 200 || res.status > 299) {
    const err = ApiError.safeParse(json);
    throw failed({ status: res.status, body: err.success ? err.data : undefined, text });
  }
  return schema.parse(json);
}

/** The bearer token a CLI command sends: `controlPlane.token` (env TAPFLEET_TOKEN), else the local admin token file. */
export function cliBearerToken(config: TapfleetConfig): string | undefined {
  if (config.controlPlane.token) return config.controlPlane.token;
  const file = adminTokenPath(config.dataDir);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/** Whom a client of a tapfleet HTTPS service trusts: that service's `caFile` (else the system's CAs). */
export function serviceTrust(caFile: string | undefined, service: string): ClientTlsMaterial | undefined {
  return caFile ? { ca: readPemFile(caFile, `CA file for the ${service}`) } : undefined;
}
