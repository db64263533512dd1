import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { TapfleetConfig } from '@tapfleet/schemas';

export type { NatsConnection, JetStreamClient, JetStreamManager };

export interface NatsConnectOptions {
  /** Client name shown by the server's monitoring (`connz`). */
  name: string;
  /** Give up after this long if the server is not there (default 5 s). */
  timeoutMs?: number;
  /** Keep reconnecting forever (long-running services); off for one-shot CLI work. */
  reconnectForever?: boolean;
}

/**
 * The one NATS connection helper. `noAsyncTraces` is on because both clients spend
 * most publish CPU building Error stack traces for async calls (1.5-2x, see FACTS.md).
 */
export async function connectNats(config: TapfleetConfig, options: NatsConnectOptions): Promise<NatsConnection> {
  return connect({
    servers: config.nats.url,
    name: options.name,
    timeout: options.timeoutMs ?? 5000,
    noAsyncTraces: true,
    maxReconnectAttempts: options.reconnectForever ? -1 : 10,
    reconnectTimeWait: 250,
  });
}

export async function connectJetStream(
  config: TapfleetConfig,
  options: NatsConnectOptions,
): Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager }> {
  const nc = await connectNats(config, options);
  try {
    const jsm = await jetstreamManager(nc);
    return { nc, js: jetstream(nc), jsm };
  } catch (e) {
    await nc.close();
    throw e;
  }
}
