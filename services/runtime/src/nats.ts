import { existsSync, readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { natsJetStream, natsTransport } from './client-modules.js';
import { serviceCredsPath } from './nats-auth.js';
import { clientTlsMaterial } from './tls-material.js';
import { natsServerUrls } from './nats-cluster.js';
import type { ServiceIdentity } from './nats-permissions.js';

export type { NatsConnection, JetStreamClient, JetStreamManager };

export interface NatsConnectOptions {
  /** Client name shown by the server's monitoring (`connz`). */
  name: string;
  /** Give up after this long if the server is not there (default 5 s). */
  timeoutMs?: number;
  /** Keep reconnecting forever (long-running services); off for one-shot CLI work. */
  reconnectForever?: boolean;
  /** Whose credentials to present (default `admin`: the operator's own tools); ignored with `credsFile`. */
  identity?: ServiceIdentity;
  /** An explicit credentials file (agents: the one issued at enrollment); else `nats.credsFile`, else by identity. */
  credsFile?: string;
  /** Reply subjects under this prefix (agents may subscribe only under their own). */
  inboxPrefix?: string;
}

/** The credentials this process presents, or none when no file exists (a server without auth). */
function credentials(config: TapfleetConfig, o: NatsConnectOptions): { file: string; creds?: Uint8Array } {
  const explicit = o.credsFile ?? config.nats.credsFile;
  const file = explicit ?? serviceCredsPath(config, o.identity ?? 'admin');
  if (existsSync(file)) return { file, creds: readFileSync(file) };
  if (explicit) throw new Error(`NATS credentials file ${file} does not exist`);
  return { file };
}

/**
 * `nats.tls` as the client takes it (PEM text, read here so a bad path fails with its name). With
 * it the client insists on TLS: a server that offers none is refused, never spoken to in clear.
 */
function natsTls(config: TapfleetConfig): { ca?: string; cert?: string; key?: string } | undefined {
  if (!config.nats.tls) return undefined;
  const m = clientTlsMaterial(config.nats.tls, 'NATS');
  return { ...(m.ca ? { ca: m.ca.toString('utf8') } : {}), ...(m.cert ? { cert: m.cert.toString('utf8') } : {}), ...(m.key ? { key: m.key.toString('utf8') } : {}) };
}

/**
 * The one NATS connection helper. `noAsyncTraces` is on because both clients spend
 * most publish CPU building Error stack traces for async calls (1.5-2x, see FACTS.md).
 * It is given every server of a cluster (natsServerUrls): the client connects to one at
 * random and, when that one dies, reconnects to another (and to nodes the cluster
 * gossips); `reconnectTimeWait` paces retries of the same server, not the failover.
 */
export async function connectNats(config: TapfleetConfig, options: NatsConnectOptions): Promise<NatsConnection> {
  const { file, creds } = credentials(config, options);
  const tls = natsTls(config);
  const servers = natsServerUrls(config);
  try {
    const { connect, credsAuthenticator } = natsTransport();
    return await connect({
      servers,
      name: options.name,
      timeout: options.timeoutMs ?? 5000,
      noAsyncTraces: true,
      maxReconnectAttempts: options.reconnectForever ? -1 : 10,
      reconnectTimeWait: 250,
      ...(creds ? { authenticator: credsAuthenticator(creds) } : {}),
      ...(tls ? { tls } : {}),
      ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
    });
  } catch (e) {
    const msg = (e as Error).message;
    if (/authori[sz]ation|authentication/i.test(msg))
      throw new Error(`NATS at ${servers.join(',')} refused ${options.name}: ${msg} (${creds ? `credentials ${file}` : `no credentials: ${file} does not exist`})`);
    throw e;
  }
}

export async function connectJetStream(
  config: TapfleetConfig,
  options: NatsConnectOptions,
): Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager }> {
  const nc = await connectNats(config, options);
  try {
    const { jetstream, jetstreamManager } = natsJetStream();
    const jsm = await jetstreamManager(nc);
    return { nc, js: jetstream(nc), jsm };
  } catch (e) {
    await nc.close();
    throw e;
  }
}
