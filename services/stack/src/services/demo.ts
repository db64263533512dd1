import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_NODE_FLAGS, PROJECT_ROOT, writeSecretFile } from '@tapfleet/runtime';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { isOwnedAlive, readPidFile } from '../owned-process.js';
import { isPortOpen } from '../tcp-port.js';
import { tapfleetChildEnv } from './product.js';
import { withTimeout, type ServiceDirs, type StackService } from './service.js';

/** The demo trading pipeline's programs, built by `tapfleet setup` (make -C test/demo). */
export const DEMO_BUILD_DIR = join(PROJECT_ROOT, 'test', 'demo', 'build');
export const DEMO_STAGES = ['gateway', 'risk', 'matcher'] as const;
export type DemoStage = (typeof DEMO_STAGES)[number];

export const demoProgram = (program: DemoStage | 'client') => join(DEMO_BUILD_DIR, `tf-demo-${program}`);

/** The tapset's binary names (`$tfdemo_gateway`...) -> this machine's paths. */
export function demoBinaries(): Record<string, string> {
  return Object.fromEntries((['client', ...DEMO_STAGES] as const).map((p) => [`tfdemo_${p}`, demoProgram(p)]));
}

/** The host id each stage's agent reports: three "hosts" on one machine. */
export const demoHostId = (stage: DemoStage) => `demo-${stage}`;

function stagePort(config: TapfleetConfig, stage: DemoStage): number {
  return { gateway: config.demo.gatewayPort, risk: config.demo.riskPort, matcher: config.demo.matcherPort }[stage];
}

function requireBuilt(program: DemoStage | 'client'): string {
  const path = demoProgram(program);
  if (!existsSync(path)) throw new Error(`${path} is not built: run \`node bin/tapfleet.js setup\` (it runs make -C test/demo)`);
  return path;
}

/** One stage of the pipeline: it listens on its port and connects to the next stage (retrying for 10 s). */
export function demoStageService(config: TapfleetConfig, stage: DemoStage): StackService {
  const port = stagePort(config, stage);
  const next = stage === 'gateway' ? config.demo.riskPort : stage === 'risk' ? config.demo.matcherPort : undefined;
  return {
    name: `demo-${stage}`,
    binary: demoProgram(stage),
    host: '127.0.0.1',
    port,
    extraPorts: [],
    startTimeoutMs: 15_000,
    prepare: () => {
      requireBuilt(stage);
      return ['--listen', String(port), ...(next ? ['--downstream', String(next)] : []), '--delay-us', String(config.demo.delaysUs[stage])];
    },
    async checkHealth() {
      if (!(await withTimeout(isPortOpen('127.0.0.1', port), 2000, `demo ${stage}`))) throw new Error(`demo ${stage} is not listening on ${port}`);
    },
  };
}

/**
 * The agent of one stage's "host": its own host id and labels, scoped to that stage's process
 * (read from the stage's pid file, so the stage must be one this stack started), with the
 * tapset's binary names so `usdt:$tfdemo_gateway:...` resolves.
 */
export function demoAgentService(config: TapfleetConfig, stage: DemoStage, stageDirs: ServiceDirs): StackService {
  const port = config.demo.agentMetricsPort + DEMO_STAGES.indexOf(stage);
  const hostId = demoHostId(stage);
  return {
    name: `demo-agent-${stage}`,
    binary: process.execPath,
    host: config.agent.metricsHost,
    port,
    extraPorts: [],
    startTimeoutMs: 60_000,
    env: tapfleetChildEnv(),
    prepare(dirs: ServiceDirs) {
      const rec = readPidFile(stageDirs.pidFile);
      if (!isOwnedAlive(rec))
        throw new Error(`the demo ${stage} on port ${stagePort(config, stage)} was not started by this stack, so its agent cannot be scoped to it: stop whatever holds the port, or set demo.${stage}Port`);
      // Clock exchanges every 2 s: the bounds of the cross-host hops stay within a few hundred us of their best.
      const clock = { ...config.agent.clock, sampleIntervalMs: Math.min(config.agent.clock.sampleIntervalMs, 2000) };
      const agent = { ...config.agent, hostId, labels: { demo: 'trading', stage }, binaries: demoBinaries(), scope: { pids: [rec.pid] }, metricsPort: port, clock };
      const file = join(dirs.root, 'config.json');
      writeSecretFile(file, JSON.stringify({ ...config, agent }, null, 2));
      return [...AGENT_NODE_FLAGS, join(PROJECT_ROOT, 'bin', 'tapfleet.js'), 'agent', '--config', file];
    },
    async checkHealth() {
      const res = await withTimeout(fetch(`http://${config.agent.metricsHost}:${port}/healthz`), 2000, `demo agent ${hostId}`);
      if (!res.ok) throw new Error(`demo agent ${hostId} /healthz answered ${res.status}`);
    },
  };
}
