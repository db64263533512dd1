import { z } from 'zod/v3';
import { DeploymentId, EpochMs, HostId } from './common.js';
import { DeploymentState } from './agent.js';

/** `POST /v1/agents/enroll` (an `agent`-role token): the agent's own nkey; its seed never leaves the host. */
export const EnrollRequest = z.object({
  hostId: HostId,
  publicKey: z.string().regex(/^U[A-Z2-7]{55}$/, 'expected an nkey user public key (U...)'),
});
export type EnrollRequest = z.infer<typeof EnrollRequest>;

/** The user JWT for that key: it may publish only this host's subjects and read only its own assignment. */
export const EnrollResponse = z.object({ hostId: HostId, jwt: z.string().min(1) });
export type EnrollResponse = z.infer<typeof EnrollResponse>;

/** One host's report of a deployment the control plane has no record of. */
export const UnknownDeploymentHost = z.object({
  state: DeploymentState,
  reason: z.string().optional(),
  updatedAtMs: EpochMs,
});
export type UnknownDeploymentHost = z.infer<typeof UnknownDeploymentHost>;

/**
 * `GET /v1/deployments/unknown`: deployments agents report (running, or refused) that this
 * control plane did not create, or whose record it lost; `tapfleet stop` stops them too.
 */
export const UnknownDeployment = z.object({
  id: DeploymentId,
  hosts: z.record(HostId, UnknownDeploymentHost),
});
export type UnknownDeployment = z.infer<typeof UnknownDeployment>;

/** `POST /v1/deployments/:id/stop` of an unknown deployment: the hosts told to stop it. */
export const UnknownDeploymentStopped = UnknownDeployment.extend({ stopping: z.literal(true) });
export type UnknownDeploymentStopped = z.infer<typeof UnknownDeploymentStopped>;
