import { z } from 'zod';
import { DeploymentId, EpochMs, HostId, Labels, Sha256Hex } from './common.js';

/** Label selector: every key must match exactly (an empty selector matches nothing, on purpose). */
export const Selector = Labels.refine((s) => Object.keys(s).length > 0, { message: 'a selector needs at least one KEY=VALUE' });

export const Deployment = z.object({
  id: DeploymentId,
  scriptName: z.string(),
  scriptDigest: Sha256Hex,
  selector: Selector,
  canary: z.boolean(),
  createdAtMs: EpochMs,
  expiresAtMs: EpochMs,
  stoppedAtMs: EpochMs.optional(),
  /** Kernel build-id -> bundle id compiled for it. */
  bundles: z.record(z.string(), Sha256Hex),
  hosts: z.array(HostId),
});
export type Deployment = z.infer<typeof Deployment>;

/** One host's assignment entry, as written to the assignments KV bucket. */
export const Assignment = z.object({
  deploymentId: DeploymentId,
  bundleId: Sha256Hex,
  expiresAtMs: EpochMs,
  /** Restrict probes to these pids (empty: the agent's configured scope). */
  pids: z.array(z.number().int().positive()).default([]),
});
export type Assignment = z.infer<typeof Assignment>;

export const AssignmentSet = z.object({
  hostId: HostId,
  revision: z.number().int().nonnegative(),
  assignments: z.array(Assignment),
});
export type AssignmentSet = z.infer<typeof AssignmentSet>;
