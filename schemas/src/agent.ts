import { z } from 'zod';
import { DeploymentId, EpochMs, HostId, Labels, Sha256Hex } from './common.js';
import { KernelProfile } from './kernel-profile.js';
import { BinaryProfile } from './binary-profile.js';

const AgentIdentity = {
  hostId: HostId,
  bootId: z.string().uuid(),
  agentVersion: z.string(),
  sentAtMs: EpochMs,
};

/** First message of an agent: who it is and the profiles the control plane compiles from. */
export const AgentHello = z.object({
  ...AgentIdentity,
  labels: Labels,
  kernel: KernelProfile,
  binaries: z.array(BinaryProfile),
});
export type AgentHello = z.infer<typeof AgentHello>;

export const ClockEstimate = z.object({
  /** Host clock minus reference clock, ns. */
  offsetNs: z.number().int(),
  /** Half the round-trip time of the best sample, ns: the offset is right within +/- this. */
  uncertaintyNs: z.number().int().nonnegative(),
  sampledAtMs: EpochMs,
});
export type ClockEstimate = z.infer<typeof ClockEstimate>;

export const AgentHeartbeat = z.object({
  ...AgentIdentity,
  clock: ClockEstimate.optional(),
  runningDeployments: z.array(DeploymentId),
});
export type AgentHeartbeat = z.infer<typeof AgentHeartbeat>;

export const DeploymentState = z.enum(['pending', 'running', 'refused', 'failed', 'overloaded', 'expired', 'stopped']);
export type DeploymentState = z.infer<typeof DeploymentState>;

/** Everything lost or moved on the way from the kernel to the bus, for end-to-end loss accounting. */
export const LossCounters = z.object({
  producedByKernel: z.number().int().nonnegative(),
  ringBufferDrops: z.number().int().nonnegative(),
  spooled: z.number().int().nonnegative(),
  spoolDrops: z.number().int().nonnegative(),
  published: z.number().int().nonnegative(),
});
export type LossCounters = z.infer<typeof LossCounters>;

/** Per-probe attach outcome as the runner reported it. */
export const ProbeAttachStatus = z.object({
  program: z.string(),
  ok: z.boolean(),
  errno: z.number().int().optional(),
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
  runnerRestarts: z.number().int().nonnegative().default(0),
});
export type AgentDeploymentStatus = z.infer<typeof AgentDeploymentStatus>;
