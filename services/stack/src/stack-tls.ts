import type { TapfleetConfig } from '@tapfleet/schemas';

/**
 * With `stack.tls` the stack's servers speak TLS only, so every client setting must say TLS too;
 * a mismatch would otherwise surface as a health check timing out against a server that hangs up.
 * Returns the settings to change, empty when consistent.
 */
export function stackTlsMismatches(config: TapfleetConfig): string[] {
  if (!config.stack.tls) return [];
  const out: string[] = [];
  if (!config.nats.tls) out.push('nats.tls (at least { "caFile": ... }): nats-server requires TLS');
  if (!config.clickhouse.url.startsWith('https:')) out.push(`clickhouse.url must be https:// (is ${config.clickhouse.url}): clickhouse-server serves HTTPS only`);
  if (!config.redis.url.startsWith('rediss:')) out.push(`redis.url must be rediss:// (is ${config.redis.url}): redis-server accepts TLS only`);
  if (config.stack.tls.clientCaFile) {
    for (const [name, tls] of [['nats', config.nats.tls], ['clickhouse', config.clickhouse.tls], ['redis', config.redis.tls]] as const)
      if (!tls?.certFile) out.push(`${name}.tls.certFile/keyFile: stack.tls.clientCaFile makes the servers require a client certificate`);
  }
  return out;
}
