import type { KV } from '@nats-io/kv';
import type { ObjectStore } from '@nats-io/obj';
import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AGENT_STREAM, AGENT_SUBJECTS, ASSIGNMENTS_BUCKET, BUNDLES_OBJECT_STORE, DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECTS,
  EVENTS_STREAM, EVENTS_SUBJECTS, PROFILES_OBJECT_STORE,
} from '@tapfleet/schemas';
import { natsKv, natsObj } from './client-modules.js';

// The library's enum values used here, as the literals its types declare: the library itself
// is loaded on first connection (client-modules.ts), not when this module is imported.
const StorageType = { File: 'file' } as const;
const RetentionPolicy = { Limits: 'limits' } as const;
const AckPolicy = { Explicit: 'explicit' } as const;
const DeliverPolicy = { All: 'all' } as const;

const NS_PER_MS = 1_000_000;
const DAY_NS = 24 * 3600 * 1000 * NS_PER_MS;

/**
 * The fleet's JetStream streams. The events stream de-duplicates on `Nats-Msg-Id` for
 * 10 minutes: an agent that re-sends a batch whose ack was lost (NATS restart, spool
 * replay) within that window stores it once; ingest de-duplicates by key beyond it. The
 * dead-letter stream keeps the same window: a misfit's dead letter has a fixed id, published
 * again by a reader that falls behind and re-reads (the Kafka mirror while Kafka is away).
 */
export const FLEET_STREAMS: (Partial<StreamConfig> & { name: string })[] = [
  { name: EVENTS_STREAM, subjects: EVENTS_SUBJECTS, storage: StorageType.File, retention: RetentionPolicy.Limits, duplicate_window: 10 * 60_000 * NS_PER_MS, max_age: 7 * DAY_NS },
  { name: AGENT_STREAM, subjects: AGENT_SUBJECTS, storage: StorageType.File, retention: RetentionPolicy.Limits, max_age: DAY_NS },
  { name: DEAD_LETTER_STREAM, subjects: DEAD_LETTER_SUBJECTS, storage: StorageType.File, retention: RetentionPolicy.Limits, duplicate_window: 10 * 60_000 * NS_PER_MS, max_age: 7 * DAY_NS },
];

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, update: boolean): Promise<void> {
  // Two services starting together may both find it missing: the loser of the add retries as an update.
  for (let attempt = 0; ; attempt++) {
    try {
      await jsm.streams.info(config.name);
      if (update) await jsm.streams.update(config.name, config);
      return;
    } catch (e) {
      if (!/stream not found/i.test((e as Error).message)) throw e;
      try {
        await jsm.streams.add(config);
        return;
      } catch (addError) {
        if (attempt >= 3) throw addError;
      }
    }
  }
}

/**
 * A bucket's or store's backing stream at `replicas` copies: the KV and object-store `create`
 * leave an existing stream as it is, so an update (a single server's data turned into a
 * cluster's, or `nats.replicas` changed) is done here. JetStream moves the data itself.
 */
async function ensureReplicas(jsm: JetStreamManager, stream: string, replicas: number): Promise<void> {
  const info = await jsm.streams.info(stream);
  if (info.config.num_replicas !== replicas) await jsm.streams.update(stream, { num_replicas: replicas });
}

export interface FleetStores {
  assignments: KV;
  bundles: ObjectStore;
  profiles: ObjectStore;
}

/**
 * Creates every stream, bucket and store the fleet uses; idempotent. Run by the control plane
 * and ingest, whichever starts first. Only the control plane (`update`) brings an existing
 * stream's configuration up to date: ingest's credentials may create a missing fleet stream but
 * not change one (an update can shrink a stream to one message as surely as a purge).
 * `replicas` (natsReplicas(config): 3 on a cluster, 1 on one server) applies to every stream,
 * bucket and object store: with R3 a node may die without losing or stopping anything.
 */
export async function ensureFleetResources(nc: NatsConnection, jsm: JetStreamManager, o: { update: boolean; replicas: number }): Promise<FleetStores> {
  for (const s of FLEET_STREAMS) await ensureStream(jsm, { ...s, num_replicas: o.replicas }, o.update);
  const kvm = new (natsKv().Kvm)(nc);
  const objm = new (natsObj().Objm)(nc);
  const openOr = async <T>(open: () => Promise<T>, create: () => Promise<T>): Promise<T> => {
    if (o.update) return create();
    try {
      return await open();
    } catch {
      return create();
    }
  };
  const stores = {
    assignments: await openOr(() => kvm.open(ASSIGNMENTS_BUCKET), () => kvm.create(ASSIGNMENTS_BUCKET, { history: 5, storage: StorageType.File, replicas: o.replicas })),
    bundles: await openOr(() => objm.open(BUNDLES_OBJECT_STORE), () => objm.create(BUNDLES_OBJECT_STORE, { replicas: o.replicas })),
    profiles: await openOr(() => objm.open(PROFILES_OBJECT_STORE), () => objm.create(PROFILES_OBJECT_STORE, { replicas: o.replicas })),
  };
  if (o.update) for (const stream of [`KV_${ASSIGNMENTS_BUCKET}`, `OBJ_${BUNDLES_OBJECT_STORE}`, `OBJ_${PROFILES_OBJECT_STORE}`]) await ensureReplicas(jsm, stream, o.replicas);
  return stores;
}

/** A KV bucket of the fleet's at `replicas` copies (created, or brought up to them). */
export async function ensureKvBucket(nc: NatsConnection, jsm: JetStreamManager, bucket: string, o: { history: number; replicas: number }): Promise<KV> {
  const kv = await new (natsKv().Kvm)(nc).create(bucket, { history: o.history, storage: StorageType.File, replicas: o.replicas });
  await ensureReplicas(jsm, `KV_${bucket}`, o.replicas);
  return kv;
}

export interface DurableConsumerSpec {
  name: string;
  /** One subject filter (nats-server 2.9 takes a single one). */
  filterSubject?: string;
  /** How long a delivered message may stay unacked before it is redelivered (a crashed reader's). */
  ackWaitMs: number;
  maxAckPending?: number;
}

/**
 * A durable pull consumer with explicit acks, reading the stream from its start; created if
 * missing. An existing one keeps its position and gets the current ack wait.
 */
export async function ensureDurableConsumer(jsm: JetStreamManager, stream: string, spec: DurableConsumerSpec): Promise<void> {
  const ackWait = spec.ackWaitMs * NS_PER_MS;
  try {
    const info = await jsm.consumers.info(stream, spec.name);
    if (info.config.ack_wait !== ackWait) await jsm.consumers.update(stream, spec.name, { ack_wait: ackWait });
  } catch (e) {
    if (!/consumer not found/i.test((e as Error).message)) throw e;
    await jsm.consumers.add(stream, {
      durable_name: spec.name,
      ...(spec.filterSubject ? { filter_subject: spec.filterSubject } : {}),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: ackWait,
      ...(spec.maxAckPending ? { max_ack_pending: spec.maxAckPending } : {}),
    });
  }
}

/** Binds to the stores without creating them (agents): throws until the control plane has made them. */
export async function openFleetStores(nc: NatsConnection): Promise<FleetStores> {
  const objm = new (natsObj().Objm)(nc);
  return {
    assignments: await new (natsKv().Kvm)(nc).open(ASSIGNMENTS_BUCKET),
    bundles: await objm.open(BUNDLES_OBJECT_STORE),
    profiles: await objm.open(PROFILES_OBJECT_STORE),
  };
}
