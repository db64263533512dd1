/**
 * Every NATS stream, subject, KV bucket and object store tapfleet uses, in one place.
 * Subjects put the deployment before the host so one consumer filter can take a
 * whole deployment, and ingest replicas can partition by it.
 */

/** Events and aggregation snapshots from agents, persisted for ingest. */
export const EVENTS_STREAM = 'TAPFLEET_EVENTS';
/** Every host's event batches, and every host's aggregation snapshots: consumers' filters. */
export const EVENTS_FILTER = 'tapfleet.events.>';
export const AGGS_FILTER = 'tapfleet.aggs.>';
export const EVENTS_SUBJECTS = [EVENTS_FILTER, AGGS_FILTER];
export const eventsSubject = (deploymentId: string, hostId: string) => `tapfleet.events.${deploymentId}.${hostId}`;
/** Every host's event batches of one deployment. */
export const deploymentEventsFilter = (deploymentId: string) => `tapfleet.events.${deploymentId}.>`;
export const aggsSubject = (deploymentId: string, hostId: string) => `tapfleet.aggs.${deploymentId}.${hostId}`;

/**
 * Who a message on an agent-published subject claims to be, from the subject alone. The
 * server lets each agent publish only its own host's subjects, so this is authenticated;
 * readers refuse a body whose host (or deployment) says otherwise.
 */
export function subjectIdentity(subject: string): { hostId: string; deploymentId?: string } | undefined {
  const t = subject.split('.');
  if (t[0] !== 'tapfleet') return undefined;
  if ((t[1] === 'events' || t[1] === 'aggs') && t.length === 4) return { deploymentId: t[2]!, hostId: t[3]! };
  if (t[1] === 'agent' && t.length === 4) return { hostId: t[3]! };
  return undefined;
}

/** Why a body's identity differs from its subject's, or undefined when they agree. */
export function identityMismatch(subject: string, body: { hostId: string; deploymentId?: string }): string | undefined {
  const id = subjectIdentity(subject);
  if (!id) return `subject ${subject} names no host`;
  if (id.hostId !== body.hostId) return `host '${body.hostId}' in the message differs from the subject's host '${id.hostId}'`;
  if (id.deploymentId !== undefined && body.deploymentId !== undefined && id.deploymentId !== body.deploymentId)
    return `deployment '${body.deploymentId}' in the message differs from the subject's '${id.deploymentId}'`;
  return undefined;
}

/** Agent lifecycle: hello (with profiles), heartbeats, per-deployment status, loss counters. */
export const AGENT_STREAM = 'TAPFLEET_AGENT';
export const AGENT_SUBJECTS = ['tapfleet.agent.>'];
export const helloSubject = (hostId: string) => `tapfleet.agent.hello.${hostId}`;
export const heartbeatSubject = (hostId: string) => `tapfleet.agent.heartbeat.${hostId}`;
export const statusSubject = (hostId: string) => `tapfleet.agent.status.${hostId}`;
/** Every host's deployment statuses (ingest's agent_status consumer). */
export const STATUS_FILTER = 'tapfleet.agent.status.>';
/**
 * An agent's kernel or binary profile, gzip-compressed JSON (a kernel's ~4 MB of tracepoint
 * formats is ~120 KB): agents may not write the profiles store themselves, so the control
 * plane checks each one against its digest and stores it.
 */
export const profileSubject = (hostId: string) => `tapfleet.agent.profile.${hostId}`;
export const PROFILE_KIND_HEADER = 'Tapfleet-Profile-Kind';
export const PROFILE_DIGEST_HEADER = 'Tapfleet-Profile-Digest';
/**
 * Reply subjects of an agent's requests (JetStream API, KV watch deliveries, time service):
 * under its own prefix, so its credentials may subscribe there and nowhere else.
 */
export const agentInboxPrefix = (hostId: string) => `_INBOX_AGENT.${hostId}`;

/** Messages that failed validation anywhere, with the reason in a header; counted, never dropped. */
export const DEAD_LETTER_STREAM = 'TAPFLEET_DLQ';
export const DEAD_LETTER_SUBJECTS = ['tapfleet.dlq.>'];
export const deadLetterSubject = (origin: string) => `tapfleet.dlq.${origin}`;
/**
 * The origin of dead letters of the events stream's batches (ingest's and the Kafka mirror's): a
 * batch found malformed by both readers is dead-lettered under one subject and message id, once.
 */
export const EVENTS_DEAD_LETTER_ORIGIN = 'events';
export const DEAD_LETTER_REASON_HEADER = 'Tapfleet-Dlq-Reason';

/** Request/reply clock service of the control plane (NTP-style offset sampling). Core NATS, not stored. */
export const TIME_SUBJECT = 'tapfleet.time';

/** Per-host assignment: key = host id, value = AssignmentSet JSON. */
export const ASSIGNMENTS_BUCKET = 'tapfleet_assignments';
/**
 * Which key owns each host id (key = host id, value = {publicKey, atMs}); only the control plane
 * reads or writes it. In JetStream rather than Redis, so losing Redis's data does not free host ids.
 */
export const ENROLLMENTS_BUCKET = 'tapfleet_enrollments';

/** Content-addressed bundles: object name = bundle id. */
export const BUNDLES_OBJECT_STORE = 'tapfleet_bundles';

/** Kernel and binary profiles agents report, once per build-id (too big for a message). */
export const PROFILES_OBJECT_STORE = 'tapfleet_profiles';
/** Content-addressed by digest too: a forged profile for a build-id can never replace the real one. */
export const kernelProfileObject = (buildId: string, digest: string) => `kernel-${buildId}-${digest}`;
export const binaryProfileObject = (buildId: string, digest: string) => `binary-${buildId}-${digest}`;

/**
 * Ingest's durable consumers: named here because its NATS user may use these and no others
 * (services/runtime/src/nats-permissions.ts).
 */
export const INGEST_CONSUMERS = {
  events: { stream: EVENTS_STREAM, name: 'ingest-events' },
  status: { stream: AGENT_STREAM, name: 'ingest-status' },
  aggs: { stream: EVENTS_STREAM, name: 'ingest-aggs' },
  kafkaMirror: { stream: EVENTS_STREAM, name: 'kafka-mirror' },
} as const;

/**
 * The assembler's durable consumers, one per partition (`assembler-p0` ..): each replica reads
 * the whole events stream and keeps the transaction keys that hash to its partition. Named by
 * partition alone (the partition count is in the consumer's description) so the assembler's
 * NATS user can be allowed exactly these names.
 */
export const MAX_ASSEMBLER_PARTITIONS = 8;
export const assemblerConsumerName = (partition: number) => `assembler-p${partition}`;

/** JetStream de-duplication header; agents set it per batch so a re-sent batch is stored once. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';
