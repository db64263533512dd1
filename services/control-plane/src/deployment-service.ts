import { randomBytes } from 'node:crypto';
import { CompileError, targetsByHostPaths, type Alias } from '@tapfleet/compiler';
import type { Logger } from '@tapfleet/runtime';
import { durationMs, FINISHED_PHASES, FINAL_STATES, SchemaError, sha256Hex, type CreateDeploymentRequest, type Deployment, type DeploymentTarget, type DeploymentView } from '@tapfleet/schemas';
import type { AssignmentWriter } from './assignment-writer.js';
import { groupHosts } from './build-groups.js';
import type { CompileService } from './compile-service.js';
import type { DeploymentStore } from './deployment-store.js';
import type { Inventory } from './inventory.js';

/** A request the API answers with a 4xx: the message is for the operator. */
export class DeploymentRequestError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export interface RolloutOptions {
  canaryTimeoutMs: number;
  pollMs?: number;
}

const newDeploymentId = () => `d-${randomBytes(6).toString('hex')}`;

/**
 * Creates deployments (select live hosts, group by build, compile per group, write
 * assignments), runs canary rollouts, stops and expires them.
 */
export class DeploymentService {
  private readonly rollouts = new Set<Promise<void>>();
  onCompile?: (ms: number, cached: boolean) => void;

  constructor(
    private readonly inventory: Inventory,
    private readonly store: DeploymentStore,
    private readonly compiler: CompileService,
    private readonly assignments: AssignmentWriter,
    private readonly tapsets: Alias[],
    private readonly o: RolloutOptions,
    private readonly log: Logger,
  ) {}

  async create(req: CreateDeploymentRequest): Promise<DeploymentView> {
    const hosts = await this.inventory.select(req.selector);
    if (!hosts.length) throw new DeploymentRequestError(409, 'no_hosts', `no live host matches ${Object.entries(req.selector).map(([k, v]) => `${k}=${v}`).join(',')}`);
    // Parsed once for all hosts here, then once per build group by its compile (against that group's profiles).
    const targetsOf = targetsByHostPaths(req.scriptName, req.script, this.tapsets, req.params);
    const groups = groupHosts(hosts, (paths) => targetsOf(paths).binaries);
    const bundles: Record<string, string> = {};
    const targets: DeploymentTarget[] = [];
    let cached = 0;
    for (const g of groups) {
      let outcome;
      try {
        outcome = await this.compiler.compile(req.scriptName, req.script, g, req.params);
      } catch (e) {
        if (e instanceof CompileError)
          throw new DeploymentRequestError(422, 'compile_failed', `the script does not compile for kernel ${g.kernel.release} (${g.kernel.buildId.slice(0, 12)}; hosts ${g.hosts.map((h) => h.hostId).join(', ')}):\n${e.message}`);
        // A stored profile that does not read (overwritten, truncated) is the hosts' state, not a server fault.
        if (e instanceof SchemaError)
          throw new DeploymentRequestError(409, 'profile_unreadable', `cannot compile for hosts ${g.hosts.map((h) => h.hostId).join(', ')}: ${e.message}; restarting their agents stores the profile again`);
        throw e;
      }
      this.onCompile?.(outcome.ms, outcome.cached);
      if (outcome.cached) cached++;
      bundles[g.key] = outcome.bundleId;
      // One canary per build group: the first host by id, so reruns pick the same one.
      const sorted = [...g.hosts].sort((a, b) => a.hostId.localeCompare(b.hostId));
      sorted.forEach((h, i) => targets.push({ hostId: h.hostId, bundleId: outcome.bundleId, canary: req.canary && i === 0 }));
    }
    const now = Date.now();
    const d: Deployment = {
      id: newDeploymentId(),
      phase: req.canary ? 'canary' : 'rolling',
      scriptName: req.scriptName,
      scriptDigest: sha256Hex(req.script),
      ...(req.params.length ? { params: req.params } : {}),
      selector: req.selector,
      canary: req.canary,
      createdAtMs: now,
      expiresAtMs: now + durationMs(req.ttl),
      bundles,
      targets,
      compiles: { total: groups.length, cached },
    };
    await this.store.save(d);
    this.log.info({ deploymentId: d.id, hosts: targets.length, groups: groups.length, cached, canary: req.canary }, 'deployment created');
    const rollout = this.rollout(d).catch((e: Error) => {
      this.log.error({ deploymentId: d.id, err: e.message }, 'rollout failed');
      return this.store.update(d.id, { phase: 'failed', message: `rollout error: ${e.message}` }).then(
        () => undefined,
        (e2: Error) => this.log.error({ deploymentId: d.id, err: e2.message }, 'could not record the failed rollout'),
      );
    });
    this.rollouts.add(rollout);
    void rollout.finally(() => this.rollouts.delete(rollout));
    return (await this.store.view(d.id))!;
  }

  private assign(d: Deployment, targets: DeploymentTarget[]): Promise<unknown[]> {
    return Promise.all(targets.map((t) => this.assignments.add(t.hostId, { deploymentId: d.id, bundleId: t.bundleId, expiresAtMs: d.expiresAtMs, pids: [] })));
  }

  private async rollout(d: Deployment): Promise<void> {
    const canaries = d.targets.filter((t) => t.canary);
    if (canaries.length) {
      await this.assign(d, canaries);
      const verdict = await this.waitForCanaries(d.id, canaries.map((t) => t.hostId));
      if (verdict) {
        await Promise.all(canaries.map((t) => this.assignments.remove(t.hostId, d.id)));
        await this.store.update(d.id, { phase: 'failed', message: verdict });
        this.log.warn({ deploymentId: d.id, reason: verdict }, 'canary failed; rollout stopped');
        return;
      }
      if ((await this.store.get(d.id))?.phase !== 'canary') return; // stopped meanwhile
      await this.store.update(d.id, { phase: 'rolling' });
    }
    await this.assign(d, d.targets.filter((t) => !t.canary));
    const now = await this.store.get(d.id);
    if (now?.phase === 'rolling') await this.store.update(d.id, { phase: 'done' });
  }

  /** Resolves undefined when every canary runs, else the first canary's failure in words. */
  private async waitForCanaries(id: string, hostIds: string[]): Promise<string | undefined> {
    const deadline = Date.now() + this.o.canaryTimeoutMs;
    for (;;) {
      const states = await this.store.hostStates(id);
      for (const h of hostIds) {
        const s = states[h];
        if (s && FINAL_STATES.includes(s.state)) return `canary ${h} ${s.state}${s.reason ? `: ${s.reason}` : ''}`;
      }
      if (hostIds.every((h) => states[h]?.state === 'running')) return undefined;
      if ((await this.store.get(id))?.phase !== 'canary') return undefined;
      if (Date.now() > deadline) return `canary ${hostIds.filter((h) => states[h]?.state !== 'running').join(', ')} did not report running within ${this.o.canaryTimeoutMs} ms`;
      await new Promise((r) => setTimeout(r, this.o.pollMs ?? 100));
    }
  }

  async stop(id: string, by: string): Promise<DeploymentView> {
    const d = await this.store.get(id);
    if (!d) throw new DeploymentRequestError(404, 'not_found', `no deployment ${id}`);
    await Promise.all(d.targets.map((t) => this.assignments.remove(t.hostId, id)));
    if (!FINISHED_PHASES.includes(d.phase)) await this.store.update(id, { phase: 'stopped', message: `stopped by ${by}`, stoppedAtMs: Date.now() });
    return (await this.store.view(id))!;
  }

  /**
   * Removes expired deployments' assignments (agents detach on their own TTL even without this).
   * One deployment that cannot be expired (an unreachable host key, say) is logged and retried
   * at the next sweep; it never holds up the others. Unreadable records are skipped by the list.
   */
  async sweepExpired(): Promise<number> {
    let n = 0;
    for (const d of (await this.store.list(1000)).deployments) {
      if (d.expiresAtMs > Date.now() || FINISHED_PHASES.includes(d.phase)) continue;
      try {
        await Promise.all(d.targets.map((t) => this.assignments.remove(t.hostId, d.id)));
        await this.store.update(d.id, { phase: 'expired', message: `TTL reached at ${new Date(d.expiresAtMs).toISOString()}` });
        n++;
      } catch (e) {
        this.log.warn({ deploymentId: d.id, err: (e as Error).message }, 'expiry of one deployment failed; the sweep goes on');
      }
    }
    return n;
  }

  async idle(): Promise<void> {
    await Promise.all([...this.rollouts]);
  }
}
