import {
  AGENT_STREAM, agentInboxPrefix, aggsSubject, assemblerConsumerName, MAX_ASSEMBLER_PARTITIONS, ASSIGNMENTS_BUCKET, BUNDLES_OBJECT_STORE, DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECTS, EVENTS_STREAM, eventsSubject,
  heartbeatSubject, helloSubject, INGEST_CONSUMERS, PROFILES_OBJECT_STORE, profileSubject, statusSubject, TIME_SUBJECT,
} from '@tapfleet/schemas';

/** Subjects a NATS user may publish to and subscribe on (the server enforces them). */
export interface SubjectPermissions {
  pub: { allow?: string[]; deny?: string[] };
  sub: { allow?: string[]; deny?: string[] };
}

/** The identities tapfleet's own services connect as; each has its own user and credentials file. */
export type ServiceIdentity = 'control-plane' | 'ingest' | 'assembler' | 'admin';
export const SERVICE_IDENTITIES: readonly ServiceIdentity[] = ['control-plane', 'ingest', 'assembler', 'admin'];

const kvStream = (bucket: string) => `KV_${bucket}`;
const objStream = (store: string) => `OBJ_${store}`;

/**
 * Read-only access to a whole object store: stream info, meta lookups and chunk reads by
 * direct get (DirectObjectReader). No consumers: a right to create them is a right to create
 * them without bound, each costing the server memory and disk.
 */
function readObjectStore(store: string): string[] {
  const s = objStream(store);
  return [`$JS.API.STREAM.INFO.${s}`, `$JS.API.STREAM.MSG.GET.${s}`, `$JS.API.DIRECT.GET.${s}`, `$JS.API.DIRECT.GET.${s}.>`];
}

/**
 * What one agent may do on the bus, and nothing more: publish its own host's subjects
 * (hello, heartbeat, status, profiles, events, snapshots), ask the time service, watch its
 * own assignment key (the consumer-create subject carries the filter, so a watch of another
 * host's key is refused by the server), and read the bundle and profile stores. It cannot
 * write any bucket or store, read another host's assignment, or subscribe outside its own
 * inbox prefix (so it cannot see other agents' replies or KV deliveries).
 */
export function agentPermissions(hostId: string): SubjectPermissions {
  const inbox = agentInboxPrefix(hostId);
  const kv = kvStream(ASSIGNMENTS_BUCKET);
  return {
    pub: {
      allow: [
        helloSubject(hostId), heartbeatSubject(hostId), statusSubject(hostId), profileSubject(hostId),
        eventsSubject('*', hostId), aggsSubject('*', hostId),
        TIME_SUBJECT,
        '$JS.API.INFO',
        `$JS.API.STREAM.INFO.${kv}`,
        `$JS.API.CONSUMER.CREATE.${kv}.*.$KV.${ASSIGNMENTS_BUCKET}.${hostId}`,
        `$JS.API.CONSUMER.INFO.${kv}.*`,
        `$JS.API.CONSUMER.DELETE.${kv}.*`,
        ...readObjectStore(BUNDLES_OBJECT_STORE),
        ...readObjectStore(PROFILES_OBJECT_STORE),
        // Flow-control replies of the ordered consumer behind the KV watch.
        '$JS.FC.>',
      ],
    },
    sub: { allow: [`${inbox}.>`] },
  };
}

/** JetStream API subjects for using one durable consumer (create/update, info, pull, ack). */
function useConsumer(stream: string, name: string): string[] {
  return [
    `$JS.API.CONSUMER.CREATE.${stream}.${name}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${name}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
    `$JS.API.CONSUMER.INFO.${stream}.${name}`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.${name}`,
    `$JS.ACK.${stream}.${name}.>`,
  ];
}

const FLEET_STREAM_NAMES = [EVENTS_STREAM, AGENT_STREAM, DEAD_LETTER_STREAM, kvStream(ASSIGNMENTS_BUCKET), objStream(BUNDLES_OBJECT_STORE), objStream(PROFILES_OBJECT_STORE)];

/**
 * Ingest: an allow-list, nothing broader. It reads the event and agent streams through its own
 * named consumers, reads bundles (for their manifests), writes dead letters, and may create a
 * missing fleet stream (when it starts before the control plane) but never update, seal,
 * purge or delete one, nor touch any other consumer, nor publish as an agent.
 */
const INGEST_PERMISSIONS: SubjectPermissions = {
  pub: {
    allow: [
      '$JS.API.INFO',
      ...FLEET_STREAM_NAMES.flatMap((s) => [`$JS.API.STREAM.INFO.${s}`, `$JS.API.STREAM.CREATE.${s}`]),
      ...Object.values(INGEST_CONSUMERS).flatMap((c) => useConsumer(c.stream, c.name)),
      ...readObjectStore(BUNDLES_OBJECT_STORE),
      '$JS.FC.>',
      ...DEAD_LETTER_SUBJECTS,
    ],
  },
  sub: { allow: ['_INBOX.>'] },
};

/**
 * Assembler: reads the events stream through its partition consumers (and may delete those
 * of a previous partition count when it rebalances), lists consumers to find them, reads
 * ingest's consumer position (it waits for ingest before merging stored events), reads
 * bundles, writes dead letters. Nothing else.
 */
const ASSEMBLER_PERMISSIONS: SubjectPermissions = {
  pub: {
    allow: [
      '$JS.API.INFO',
      `$JS.API.STREAM.INFO.${EVENTS_STREAM}`,
      `$JS.API.CONSUMER.LIST.${EVENTS_STREAM}`,
      `$JS.API.CONSUMER.NAMES.${EVENTS_STREAM}`,
      `$JS.API.CONSUMER.INFO.${EVENTS_STREAM}.${INGEST_CONSUMERS.events.name}`,
      // Five subjects per partition, no more: the user JWT travels in the CONNECT line, which
      // nats-server caps at 4 KB by default (max_control_line).
      ...Array.from({ length: MAX_ASSEMBLER_PARTITIONS }, (_, i) => assemblerConsumerName(i)).flatMap((name) => [
        `$JS.API.CONSUMER.CREATE.${EVENTS_STREAM}.${name}.>`,
        `$JS.API.CONSUMER.INFO.${EVENTS_STREAM}.${name}`,
        `$JS.API.CONSUMER.MSG.NEXT.${EVENTS_STREAM}.${name}`,
        `$JS.ACK.${EVENTS_STREAM}.${name}.>`,
        `$JS.API.CONSUMER.DELETE.${EVENTS_STREAM}.${name}`,
      ]),
      ...readObjectStore(BUNDLES_OBJECT_STORE),
      '$JS.FC.>',
      ...DEAD_LETTER_SUBJECTS,
    ],
  },
  sub: { allow: ['_INBOX.>'] },
};

/** The control plane decides what runs where; it and the operator's admin identity are not restricted. */
const UNRESTRICTED: SubjectPermissions = { pub: { allow: ['>'] }, sub: { allow: ['>'] } };

export function servicePermissions(identity: ServiceIdentity): SubjectPermissions {
  if (identity === 'ingest') return INGEST_PERMISSIONS;
  if (identity === 'assembler') return ASSEMBLER_PERMISSIONS;
  return UNRESTRICTED;
}
