import { join } from 'node:path';
import { AGENT_NODE_FLAGS, httpCall, PROJECT_ROOT, serviceTrust, writeSecretFile, type ClientTlsMaterial } from '@tapfleet/runtime';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { withTimeout, type ServiceDirs, type StackService } from './service.js';

const TAPFLEET = join(PROJECT_ROOT, 'bin', 'tapfleet.js');

/** A service's /healthz, over HTTPS (trusting `tls`'s CA) when it serves TLS. */
async function healthz(host: string, port: number, what: string, tls?: ClientTlsMaterial | false): Promise<void> {
  const res = await httpCall(`${tls === false ? 'http' : 'https'}://${host}:${port}/healthz`, { timeoutMs: 2000, maxBytes: 64 << 10, ...(tls ? { tls } : {}) });
  if (res.status !== 200) throw new Error(`${what} /healthz answered ${res.status}: ${res.text.slice(0, 200)}`);
}

/**
 * The environment of a tapfleet child the stack runs with a config file of its own: that file is
 * the whole truth, so TAPFLEET_* variables of the caller (a test run's, say) must not override it.
 */
export const tapfleetChildEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAPFLEET_') || k === 'TAPFLEET_LOG_LEVEL'));

/**
 * One of tapfleet's own long-running processes, run by the stack like the servers
 * (pid file, log file, health check), with the stack's effective configuration
 * written next to it so the child sees exactly what `stack up` saw.
 */
function productService(config: TapfleetConfig, name: 'control-plane' | 'ingest' | 'assembler' | 'query' | 'agent', host: string, port: number, args: string[], command: string = name, secure?: { caFile?: string }): StackService {
  return {
    name,
    binary: process.execPath,
    host,
    port,
    extraPorts: [],
    startTimeoutMs: 60_000,
    env: tapfleetChildEnv(),
    prepare(dirs: ServiceDirs) {
      const file = join(dirs.root, 'config.json');
      // 0600: an explicitly configured store password (redis.password, clickhouse.password) is
      // in it; otherwise it names the stack's password files, which the child reads itself.
      writeSecretFile(file, JSON.stringify(config, null, 2));
      return [...(name === 'agent' ? AGENT_NODE_FLAGS : []), TAPFLEET, command, ...args, '--config', file];
    },
    checkHealth: () => healthz(host, port, `tapfleet ${name}`, secure ? serviceTrust(secure.caFile, name) : false),
  };
}

export const controlPlaneService = (config: TapfleetConfig) =>
  productService(config, 'control-plane', config.controlPlane.host, config.controlPlane.port, [], 'control-plane', config.controlPlane.tls ? { caFile: config.controlPlane.caFile } : undefined);
export const ingestService = (config: TapfleetConfig) => productService(config, 'ingest', config.ingest.metricsHost, config.ingest.metricsPort, []);
export const assemblerService = (config: TapfleetConfig) => productService(config, 'assembler', config.assembler.metricsHost, config.assembler.metricsPort, []);
/** The history API and web page (`tapfleet query-server`). */
export const queryService = (config: TapfleetConfig) =>
  productService(config, 'query', config.query.host, config.query.port, [], 'query-server', config.query.tls ? { caFile: config.query.caFile } : undefined);
/** This machine's own agent; without configured labels it gets `stack=local` so `deploy --select stack=local` reaches it. */
export const agentService = (config: TapfleetConfig) =>
  productService(config, 'agent', config.agent.metricsHost, config.agent.metricsPort, Object.keys(config.agent.labels).length ? [] : ['--labels', 'stack=local']);
