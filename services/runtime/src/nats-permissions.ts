import {
  agentInboxPrefix, aggsSubject, ASSIGNMENTS_BUCKET, BUNDLES_OBJECT_STORE, DEAD_LETTER_SUBJECTS, eventsSubject, heartbeatSubject, helloSubject,
  PROFILES_OBJECT_STORE, profileSubject, statusSubject, TIME_SUBJECT,
} from '@tapfleet/schemas';

/** Subjects a NATS user may publish to and subscribe on (the server enforces them). */
export interface SubjectPermissions {
  pub: { allow?: string[]; deny?: string[] };
  sub: { allow?: string[]; deny?: string[] };
}

/** The identities tapfleet's own services connect as; each has its own user and credentials file. */
export type ServiceIdentity = 'control-plane' | 'ingest' | 'admin';
export const SERVICE_IDENTITIES: readonly ServiceIdentity[] = ['control-plane', 'ingest', 'admin'];

const kvStream = (bucket: string) => `KV_${bucket}`;
const objStream = (store: string) => `OBJ_${store}`;

/** Read-only access to a whole object store (stream info, meta lookups, chunk consumers). */
function readObjectStore(store: string): string[] {
  const s = objStream(store);
  return [
    `$JS.API.STREAM.INFO.${s}`,
    `$JS.API.STREAM.MSG.GET.${s}`,
    `$JS.API.DIRECT.GET.${s}.>`,
    `$JS.API.CONSUMER.CREATE.${s}.>`,
    `$JS.API.CONSUMER.INFO.${s}.*`,
    `$JS.API.CONSUMER.DELETE.${s}.*`,
  ];
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
        // Flow-control and heartbeat replies of the ordered consumers behind KV watches and object reads.
        '$JS.FC.>',
      ],
    },
    sub: { allow: [`${inbox}.>`] },
  };
}

/**
 * Ingest reads the event and agent streams, writes dead letters, and (when it starts before
 * the control plane) creates the fleet's streams. It may not publish as an agent, nor write
 * assignments, bundles or profiles.
 */
const INGEST_PERMISSIONS: SubjectPermissions = {
  pub: {
    allow: ['$JS.API.>', '$JS.ACK.>', '$JS.FC.>', ...DEAD_LETTER_SUBJECTS],
    deny: ['$JS.API.STREAM.DELETE.>', '$JS.API.STREAM.PURGE.>', `$JS.API.STREAM.MSG.DELETE.>`],
  },
  sub: { allow: ['_INBOX.>'] },
};

/** The control plane decides what runs where; it and the operator's admin identity are not restricted. */
const UNRESTRICTED: SubjectPermissions = { pub: { allow: ['>'] }, sub: { allow: ['>'] } };

export function servicePermissions(identity: ServiceIdentity): SubjectPermissions {
  return identity === 'ingest' ? INGEST_PERMISSIONS : UNRESTRICTED;
}
