import type { KV } from '@nats-io/kv';
import { z } from 'zod/v3';
import { issueAgentJwt, type AccountSigner, type Logger } from '@tapfleet/runtime';
import type { EnrollRequest, EnrollResponse } from '@tapfleet/schemas';
import { DeploymentRequestError } from './deployment-service.js';
import { readRecord } from '@tapfleet/runtime';
import type { TokenRecord } from '@tapfleet/runtime';

const Enrolled = z.object({ publicKey: z.string(), by: z.string(), atMs: z.number().finite() });

/**
 * Agent enrollment: a join token (role `agent`) is exchanged for NATS credentials bound to
 * one host id. The agent sends only its public nkey; the JWT issued for it carries that
 * host's subject permissions. A host id belongs to the first key enrolled for it: another
 * key for the same host (a copied join token trying to take over a host) needs an admin.
 * The bindings live in a JetStream KV bucket only the control plane may touch.
 */
export class Enrollment {
  constructor(private readonly bindings: KV, private readonly signer: AccountSigner | undefined, private readonly log: Logger) {}

  async enroll(req: EnrollRequest, who: TokenRecord): Promise<EnrollResponse> {
    if (!this.signer)
      throw new DeploymentRequestError(503, 'enrollment_unavailable', 'this control plane has no NATS account signing key (nats.authDir), so it cannot issue agent credentials');
    const entry = await this.bindings.get(req.hostId);
    // A binding that does not read is still a binding: only an admin may replace it.
    const prior = entry?.operation === 'PUT' ? readRecord(Enrolled, entry.string()) : undefined;
    const otherKey = prior !== undefined && (!prior.ok || prior.value.publicKey !== req.publicKey);
    if (otherKey && who.role !== 'admin')
      throw new DeploymentRequestError(409, 'host_enrolled', `host ${req.hostId} is already enrolled with another key; re-enrolling it with a new key needs an admin token`);
    const jwt = await issueAgentJwt(this.signer, req.hostId, req.publicKey);
    await this.bindings.put(req.hostId, JSON.stringify({ publicKey: req.publicKey, by: who.name, atMs: Date.now() }));
    this.log.info({ hostId: req.hostId, by: who.name, rekeyed: otherKey }, 'agent enrolled');
    return { hostId: req.hostId, jwt };
  }
}
