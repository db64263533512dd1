import { type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import type { MsgHdrs, NatsConnection, Subscription } from '@nats-io/transport-node';
import { ackAfterWork, ensureDurableConsumer, JetStreamPull, publishDeadLetter, type Logger } from '@tapfleet/runtime';
import { AGENT_STREAM, AGGS_FILTER, AgentDeploymentStatus, AgentHeartbeat, AgentHello, AggregationSnapshot, identityMismatch, issuesOf } from '@tapfleet/schemas';
import type { z } from 'zod/v3';
import type { DeploymentStore } from './deployment-store.js';
import type { Inventory } from './inventory.js';
import type { UnknownDeployments } from './unknown-deployments.js';
import { takeProfile, type ProfileQuota } from './profile-intake.js';

export const AGENT_CONSUMER = 'control-plane';
const AGENT_CONSUMER_SPEC = { name: AGENT_CONSUMER, ackWaitMs: 30_000, maxAckPending: 10_000 };

export interface ListenerCounters {
  processed: (kind: string) => void;
  deadLettered: (kind: string) => void;
  /** Well-formed reports not taken in (a host over a quota), by reason. */
  refused: (reason: string) => void;
}

function parse<T extends z.ZodType>(schema: T, data: Uint8Array): { ok: true; value: z.infer<T> } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  const r = schema.safeParse(json);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, reason: issuesOf(r.error).map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ') };
}

/**
 * Consumes agents' hello/heartbeat/status messages from JetStream (a durable consumer
 * several control-plane replicas share) into the inventory and deployment store, and
 * keeps the latest aggregation snapshot per host. Malformed messages are dead-lettered.
 */
export class AgentListener {
  private pull?: JetStreamPull;
  private aggsSub?: Subscription;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly inventory: Inventory,
    private readonly store: DeploymentStore,
    private readonly profiles: ObjectStore,
    private readonly profileQuota: ProfileQuota,
    private readonly unknown: UnknownDeployments,
    private readonly counters: ListenerCounters,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // From the start of the stream (a day of agent messages at most): a hello sent between
    // the stream's creation and this consumer's is not missed. Replays are idempotent upserts.
    await ensureDurableConsumer(this.jsm, AGENT_STREAM, AGENT_CONSUMER_SPEC);
    // The messages end if the consumer is deleted (a replica re-created it, NATS lost it): it is
    // re-ensured on every re-open, with a pause of 0.5 s doubling to 5 s while it keeps failing.
    this.pull = new JetStreamPull({
      name: AGENT_CONSUMER,
      open: async (again) => {
        if (again) await ensureDurableConsumer(this.jsm, AGENT_STREAM, AGENT_CONSUMER_SPEC);
        return this.js.consumers.get(AGENT_STREAM, AGENT_CONSUMER);
      },
      maxMessages: 500,
      expiresMs: 5000,
      endWhenDeleted: true,
      retry: { firstMs: 500, maxMs: 5000 },
      read: ackAfterWork((m) => this.handle(m.subject, m.data, m.headers), 1000, this.log, 'agent message'),
      log: this.log,
    });
    this.pull.start();
    this.aggsSub = this.nc.subscribe(AGGS_FILTER, {
      callback: (err, msg) => {
        if (err) return;
        void this.handleAggregations(msg.subject, msg.data).catch((e: Error) => this.log.warn({ err: e.message }, 'aggregation snapshot not stored'));
      },
    });
  }

  private async deadLetter(kind: string, subject: string, data: Uint8Array, reason: string): Promise<void> {
    this.counters.deadLettered(kind);
    this.log.warn({ subject, reason }, 'malformed agent message dead-lettered');
    await publishDeadLetter(this.js, 'agent', subject, data, reason);
  }

  private async handle(subject: string, data: Uint8Array, h: MsgHdrs | undefined): Promise<void> {
    const kind = subject.split('.')[2] ?? '';
    if (kind === 'profile') {
      const outcome = await takeProfile(this.profiles, this.profileQuota, subject.split('.')[3] ?? '', data, h);
      if (!outcome.ok) return this.deadLetter(kind, subject, data, outcome.reason);
      if (outcome.stored) this.log.info({ subject, profile: outcome.name }, 'profile stored');
      this.counters.processed(kind);
      return;
    }
    const schema = kind === 'hello' ? AgentHello : kind === 'heartbeat' ? AgentHeartbeat : kind === 'status' ? AgentDeploymentStatus : undefined;
    if (!schema) return this.deadLetter(kind, subject, data, `unknown agent subject ${subject}`);
    const parsed = parse(schema, data);
    if (!parsed.ok) return this.deadLetter(kind, subject, data, parsed.reason);
    if (subject.split('.')[3] !== (parsed.value as { hostId: string }).hostId) return this.deadLetter(kind, subject, data, `host id in the body differs from the subject's`);
    if (kind === 'hello') await this.inventory.hello(parsed.value as AgentHello);
    else if (kind === 'heartbeat') await this.heartbeat(parsed.value as AgentHeartbeat);
    else await this.status(parsed.value as AgentDeploymentStatus);
    this.counters.processed(kind);
  }

  private async heartbeat(hb: AgentHeartbeat): Promise<void> {
    await this.inventory.heartbeat(hb);
    for (const id of hb.runningDeployments) {
      if (await this.store.exists(id)) continue;
      if (!(await this.unknown.record(id, hb.hostId, 'running', 'reported running by the agent; no deployment record here')))
        this.counters.refused('unknown deployments over the host quota');
    }
  }

  private async status(s: AgentDeploymentStatus): Promise<void> {
    if (await this.store.recordStatus(s)) return;
    if (await this.unknown.record(s.deploymentId, s.hostId, s.state, s.reason))
      this.log.warn({ hostId: s.hostId, deploymentId: s.deploymentId, state: s.state, reason: s.reason }, 'status for a deployment this control plane has no record of');
    else this.counters.refused('unknown deployments over the host quota');
  }

  private async handleAggregations(subject: string, data: Uint8Array): Promise<void> {
    const parsed = parse(AggregationSnapshot, data);
    if (!parsed.ok) return this.deadLetter('aggs', subject, data, parsed.reason);
    const forged = identityMismatch(subject, parsed.value);
    if (forged) return this.deadLetter('aggs', subject, data, forged);
    await this.store.saveAggregations(parsed.value.deploymentId, parsed.value.hostId, new TextDecoder().decode(data));
    this.counters.processed('aggs');
  }

  async stop(): Promise<void> {
    this.aggsSub?.unsubscribe();
    await this.pull?.stop();
  }
}
