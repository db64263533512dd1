/**
 * Every NATS stream, subject, KV bucket and object store tapfleet uses, in one place.
 * Subjects put the deployment before the host so one consumer filter can take a
 * whole deployment, and ingest replicas can partition by it.
 */

/** Events and aggregation snapshots from agents, persisted for ingest. */
export const EVENTS_STREAM = 'TAPFLEET_EVENTS';
export const EVENTS_SUBJECTS = ['tapfleet.events.>', 'tapfleet.aggs.>'];
export const eventsSubject = (deploymentId: string, hostId: string) => `tapfleet.events.${deploymentId}.${hostId}`;
export const aggsSubject = (deploymentId: string, hostId: string) => `tapfleet.aggs.${deploymentId}.${hostId}`;

/** Agent lifecycle: hello (with profiles), heartbeats, per-deployment status, loss counters. */
export const AGENT_STREAM = 'TAPFLEET_AGENT';
export const AGENT_SUBJECTS = ['tapfleet.agent.>'];
export const helloSubject = (hostId: string) => `tapfleet.agent.hello.${hostId}`;
export const heartbeatSubject = (hostId: string) => `tapfleet.agent.heartbeat.${hostId}`;
export const statusSubject = (hostId: string) => `tapfleet.agent.status.${hostId}`;

/** Messages that failed validation anywhere, with the reason in a header; counted, never dropped. */
export const DEAD_LETTER_STREAM = 'TAPFLEET_DLQ';
export const DEAD_LETTER_SUBJECTS = ['tapfleet.dlq.>'];
export const deadLetterSubject = (origin: string) => `tapfleet.dlq.${origin}`;
export const DEAD_LETTER_REASON_HEADER = 'Tapfleet-Dlq-Reason';

/** Request/reply clock service of the control plane (NTP-style offset sampling). Core NATS, not stored. */
export const TIME_SUBJECT = 'tapfleet.time';

/** Per-host assignment: key = host id, value = AssignmentSet JSON. */
export const ASSIGNMENTS_BUCKET = 'tapfleet_assignments';
/** Content-addressed bundles: object name = bundle id. */
export const BUNDLES_OBJECT_STORE = 'tapfleet_bundles';

/** Kernel and binary profiles agents report, once per build-id (too big for a message). */
export const PROFILES_OBJECT_STORE = 'tapfleet_profiles';
export const kernelProfileObject = (buildId: string) => `kernel-${buildId}`;
export const binaryProfileObject = (buildId: string) => `binary-${buildId}`;

/** JetStream de-duplication header; agents set it per batch so a re-sent batch is stored once. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';
