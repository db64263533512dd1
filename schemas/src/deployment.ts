import { z } from 'zod/v3';
import { DeploymentId, EpochMs, HostId, Labels, ScriptParams, Sha256Hex } from './common.js';
import { BinaryRef, ClockEstimate, DeploymentState, KernelSummary, LossCounters } from './agent.js';

/** Label selector: every key must match exactly (an empty selector matches nothing, on purpose). */
export const Selector = Labels.refine((s) => Object.keys(s).length > 0, { message: 'a selector needs at least one KEY=VALUE' });

/** Where a rollout is: canaries first (with --canary), then everyone; `failed` names the canary's reason. */
export const RolloutPhase = z.enum(['canary', 'rolling', 'done', 'failed', 'stopped', 'expired']);
export type RolloutPhase = z.infer<typeof RolloutPhase>;
/** Phases a deployment does not leave: nothing of it runs anywhere any more. */
export const FINISHED_PHASES: readonly RolloutPhase[] = ['stopped', 'failed', 'expired'];

export const DeploymentTarget = z.object({ hostId: HostId, bundleId: Sha256Hex, canary: z.boolean() });
export type DeploymentTarget = z.infer<typeof DeploymentTarget>;

export const Deployment = z.object({
  id: DeploymentId,
  phase: RolloutPhase,
  /** Why the rollout failed or stopped, for the operator. */
  message: z.string().optional(),
  scriptName: z.string(),
  scriptDigest: Sha256Hex,
  /** Positional parameters the script was compiled with (absent: none). */
  params: ScriptParams.optional(),
  selector: Selector,
  canary: z.boolean(),
  createdAtMs: EpochMs,
  expiresAtMs: EpochMs,
  stoppedAtMs: EpochMs.optional(),
  /** Build key (kernel build-id, plus binaries' build-ids when the script probes binaries) -> bundle id. */
  bundles: z.record(z.string(), Sha256Hex),
  targets: z.array(DeploymentTarget),
  /** Compiles this deployment needed and how many the cache answered. */
  compiles: z.object({ total: z.number().int().safe().nonnegative(), cached: z.number().int().safe().nonnegative() }),
});
export type Deployment = z.infer<typeof Deployment>;

/** One host's assignment entry, as written to the assignments KV bucket. */
export const Assignment = z.object({
  deploymentId: DeploymentId,
  bundleId: Sha256Hex,
  expiresAtMs: EpochMs,
  /** Restrict probes to these pids (empty: the agent's configured scope). */
  pids: z.array(z.number().int().safe().positive()).max(1024).default([]),
});
export type Assignment = z.infer<typeof Assignment>;

/** Most deployments one host runs at once (each is a runner and a set of kernel programs). */
export const MAX_ASSIGNMENTS_PER_HOST = 64;

/**
 * A host's whole assignment set, signed by the control plane (ed25519, the bundle signing
 * key) over its canonical JSON without `signature`. The agent runs only what a set that
 * verifies, names its own host, and is newer than the last one it accepted says: write
 * access to the bus is not enough to make it load anything, and an old set replayed is refused.
 */
export const AssignmentSet = z.object({
  hostId: HostId,
  /** The control plane's clock when it wrote this set, strictly increasing per host (replay guard). */
  issuedAtMs: EpochMs,
  assignments: z.array(Assignment).max(MAX_ASSIGNMENTS_PER_HOST),
  /** base64 ed25519 signature over canonicalJson of the other fields. */
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'expected a base64 ed25519 signature'),
});
export type AssignmentSet = z.infer<typeof AssignmentSet>;
export type UnsignedAssignmentSet = Omit<AssignmentSet, 'signature'>;

/** One host's state for a deployment, as the control plane last heard it. */
export const HostDeploymentState = z.object({
  state: DeploymentState,
  reason: z.string().optional(),
  updatedAtMs: EpochMs,
  loss: LossCounters.optional(),
  load: z.object({ cpuPercent: z.number().finite().nonnegative(), eventsPerSec: z.number().finite().nonnegative() }).optional(),
  runnerRestarts: z.number().int().safe().nonnegative().default(0),
});
export type HostDeploymentState = z.infer<typeof HostDeploymentState>;

/** `GET /v1/deployments/:id`: the deployment and every target host's state. */
export const DeploymentView = Deployment.extend({ hosts: z.record(HostId, HostDeploymentState) });
export type DeploymentView = z.infer<typeof DeploymentView>;

/** `GET /v1/hosts`: the fleet inventory. */
export const HostView = z.object({
  hostId: HostId,
  bootId: z.string().uuid(),
  labels: Labels,
  kernel: KernelSummary,
  binaries: z.array(BinaryRef),
  agentVersion: z.string(),
  lastSeenMs: EpochMs,
  live: z.boolean(),
  clock: ClockEstimate.optional(),
  runningDeployments: z.array(DeploymentId),
});
export type HostView = z.infer<typeof HostView>;
