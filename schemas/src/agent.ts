import { z } from 'zod/v3';
import { ClockSource } from './clock.js';
import { BuildId, DeploymentId, EpochMs, HostId, Labels, Sha256Hex } from './common.js';
import { KernelProfile } from './kernel-profile.js';

const AgentIdentity = {
  hostId: HostId,
  bootId: z.string().uuid(),
  agentVersion: z.string(),
  sentAtMs: EpochMs,
};

/**
 * The kernel as a hello names it. The full profile (every tracepoint format, ~2 MB of
 * JSON) is stored once per build-id in the profiles object store, because it does not
 * fit a NATS message; `profileDigest` is its sha256 and part of the compile cache key.
 */
export const KernelSummary = KernelProfile.pick({ buildId: true, release: true, version: true, arch: true }).extend({ profileDigest: Sha256Hex });
export type KernelSummary = z.infer<typeof KernelSummary>;

/** A probed binary the agent's config names (`$name` in tapsets); its profile is in the object store. */
export const BinaryRef = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a tapset binary name'),
  path: z.string().startsWith('/', 'expected an absolute path'),
  buildId: BuildId,
  profileDigest: Sha256Hex,
});
export type BinaryRef = z.infer<typeof BinaryRef>;

/** First message of an agent: who it is and which profiles (already stored) the control plane compiles from. */
export const AgentHello = z.object({
  ...AgentIdentity,
  labels: Labels,
  kernel: KernelSummary,
  binaries: z.array(BinaryRef),
});
export type AgentHello = z.infer<typeof AgentHello>;

export const ClockEstimate = z.object({
  /** Host clock minus reference clock, ns. */
  offsetNs: z.number().int().safe(),
  /** The offset is right within +/- this, ns: half the best sample's round trip, or the kernel's estimated error (source ntp). */
  uncertaintyNs: z.number().int().safe().nonnegative(),
  sampledAtMs: EpochMs,
  /** What the bound rests on (absent from agents before it existed: request-reply). */
  source: ClockSource.optional(),
});
export type ClockEstimate = z.infer<typeof ClockEstimate>;

export const AgentHeartbeat = z.object({
  ...AgentIdentity,
  clock: ClockEstimate.optional(),
  runningDeployments: z.array(DeploymentId),
  labels: Labels,
  kernelBuildId: BuildId,
});
export type AgentHeartbeat = z.infer<typeof AgentHeartbeat>;

export const DeploymentState = z.enum(['pending', 'running', 'refused', 'failed', 'overloaded', 'expired', 'stopped']);
export type DeploymentState = z.infer<typeof DeploymentState>;
/** States a deployment does not leave on a host (only a new assignment starts it again). */
export const FINAL_STATES: readonly DeploymentState[] = ['refused', 'failed', 'overloaded', 'expired', 'stopped'];

/** Everything lost or moved on the way from the kernel to the bus, for end-to-end loss accounting. */
export const LossCounters = z.object({
  producedByKernel: z.number().int().safe().nonnegative(),
  ringBufferDrops: z.number().int().safe().nonnegative(),
  spooled: z.number().int().safe().nonnegative(),
  spoolDrops: z.number().int().safe().nonnegative(),
  published: z.number().int().safe().nonnegative(),
  /** Records whose event id or size matched no layout of the manifest (counted, never silently dropped). */
  malformed: z.number().int().safe().nonnegative().default(0),
  /** Records the runner wrote that the agent read (the kernel's count minus what never left the ring). */
  received: z.number().int().safe().nonnegative().default(0),
  /**
   * Part of `published`: events in batches a previous agent incarnation had handed to JetStream
   * (or was about to) when it died without an ack. Counted as published so that stored <= published
   * holds; whether each was stored only ClickHouse knows (what was not is a sequence gap inside an
   * agent outage).
   */
  publishedUnacked: z.number().int().safe().nonnegative().optional(),
});
export type LossCounters = z.infer<typeof LossCounters>;

/**
 * A time nothing was traced for a deployment on a host: its runner was down (crashed, killed,
 * restarting) or the agent itself was (killed, restarted). Times are wall-clock ms, rounded
 * outwards: `fromMs` is the last event known safe (read from the runner, or durable in the
 * agent) or the attach time if there was none, so anything lost was produced after it;
 * `toMs` is when the next runner had attached.
 */
export const Outage = z.object({
  kind: z.enum(['runner', 'agent']),
  fromMs: EpochMs,
  /** Absent while still down. */
  toMs: EpochMs.optional(),
  /** What ended tracing: `SIGKILL`, `exit code 1`, `agent died`, `agent restarted`, ... */
  cause: z.string().max(200),
  /** How it ended: tracing again, or the deployment stopped before it could restart. Absent while down. */
  resolution: z.enum(['restarted', 'stopped']).optional(),
});
export type Outage = z.infer<typeof Outage>;

/** Per-probe attach outcome as the runner reported it. */
export const ProbeAttachStatus = z.object({
  program: z.string(),
  ok: z.boolean(),
  errno: z.number().int().safe().optional(),
  message: z.string().optional(),
});

export const AgentDeploymentStatus = z.object({
  ...AgentIdentity,
  deploymentId: DeploymentId,
  bundleId: Sha256Hex.optional(),
  state: DeploymentState,
  /** Why it is refused / failed / overloaded, in words an operator can act on. */
  reason: z.string().optional(),
  probes: z.array(ProbeAttachStatus).default([]),
  loss: LossCounters.optional(),
  /** Recent outages of this deployment on this host and boot (ingest keeps all of them in ClickHouse). */
  outages: z.array(Outage).optional(),
  runnerRestarts: z.number().int().safe().nonnegative().default(0),
  /** Overload figures when state is `overloaded` (and the latest ones while running). */
  load: z.object({ cpuPercent: z.number().finite().nonnegative(), eventsPerSec: z.number().finite().nonnegative() }).optional(),
});
export type AgentDeploymentStatus = z.infer<typeof AgentDeploymentStatus>;

/** Integers that may exceed 2^53 (counters, sums) travel as decimal strings. */
const BigIntText = z.string().regex(/^-?(0|[1-9][0-9]{0,19})$/, 'expected a 64-bit integer as a decimal string');

/** One aggregation entry, merged across CPUs; keys in the map layout's key-field order. */
export const AggregationEntry = z.object({
  key: z.array(z.string()),
  value: BigIntText,
  count: BigIntText.optional(),
  buckets: z.array(BigIntText).optional(),
  /** A string value map's value (then `value` is 0). */
  text: z.string().max(256).optional(),
});
export type AggregationEntry = z.infer<typeof AggregationEntry>;

/** A host's snapshot of a deployment's maps, published on `aggsSubject`; the control plane merges hosts. */
export const AggregationSnapshot = z.object({
  ...AgentIdentity,
  deploymentId: DeploymentId,
  bundleId: Sha256Hex,
  maps: z.array(z.object({ name: z.string().regex(/^@([A-Za-z_][A-Za-z0-9_]*)?$/), entries: z.array(AggregationEntry) })),
});
export type AggregationSnapshot = z.infer<typeof AggregationSnapshot>;

/** Reply of the control plane's time service: its wall clock, ns since the epoch, as a decimal string. */
export const TimeReply = z.object({ nowNs: z.string().regex(/^[0-9]{1,20}$/) });
export type TimeReply = z.infer<typeof TimeReply>;
