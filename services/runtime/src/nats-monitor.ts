import type { z } from 'zod/v3';
import { parseOrThrow, type NatsNodeAddress } from '@tapfleet/schemas';

/**
 * Reads one nats-server monitoring endpoint (`/healthz`, `/routez`, `/connz`, `/jsz`) of a
 * node, validated. `/healthz` answers 503 with a JSON reason while JetStream is not current;
 * that body is returned too (its `status` says so), so callers need not tell the two apart.
 */
export async function readNatsMonitor<S extends z.ZodType>(node: NatsNodeAddress, path: string, schema: S, timeoutMs = 2000): Promise<z.output<S>> {
  const url = `http://${node.host}:${node.monitorPort}${path}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok && res.status !== 503) throw new Error(`${url} answered ${res.status}`);
  return parseOrThrow(schema, await res.json(), url);
}
