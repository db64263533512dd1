import { parseKeyValues, stringOption, untilSignal, UsageError, type Command } from '@tapfleet/runtime';
import { AgentConfig, parseOrThrow } from '@tapfleet/schemas';

const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export const agentCommand: Command = {
  path: ['agent'],
  summary: 'run the host agent: hello, heartbeats, assigned bundles verified and loaded, events to JetStream',
  options: {
    'host-id': { type: 'string', description: 'host id (default: config agent.hostId, else /etc/machine-id)', valueName: 'ID' },
    labels: { type: 'string', description: 'labels deployments select on, e.g. role=gateway,zone=a', valueName: 'K=V,..' },
    binary: { type: 'string', multiple: true, description: 'a probed binary for tapsets ($NAME), repeatable', valueName: 'NAME=PATH' },
    'scope-pid': { type: 'string', multiple: true, description: 'trace only this process (repeatable)', valueName: 'PID' },
    'scope-cgroup': { type: 'string', description: 'trace only processes in this cgroup v2 directory', valueName: 'DIR' },
    'metrics-port': { type: 'string', description: 'port of /metrics and /healthz (0: any free port)', valueName: 'PORT' },
  },
  details: 'Runs until SIGINT/SIGTERM, then detaches every probe and flushes what it holds.',
  async run(values, _positionals, { config, log }) {
    const overrides: Record<string, unknown> = { ...config.agent };
    const hostId = stringOption(values, 'host-id');
    if (hostId) overrides.hostId = hostId;
    const labels = stringOption(values, 'labels');
    if (labels !== undefined) overrides.labels = { ...config.agent.labels, ...parseKeyValues(labels, '--labels') };
    const binaries = list(values.binary);
    if (binaries.length) overrides.binaries = { ...config.agent.binaries, ...parseKeyValues(binaries.join(','), '--binary') };
    const pids = list(values['scope-pid']);
    const cgroup = stringOption(values, 'scope-cgroup');
    if (pids.length && cgroup) throw new UsageError('--scope-pid and --scope-cgroup exclude each other');
    if (pids.length) overrides.scope = { pids: pids.map(Number) };
    if (cgroup) overrides.scope = { cgroup };
    const port = stringOption(values, 'metrics-port');
    if (port !== undefined) overrides.metricsPort = Number(port);
    const agentConfig = parseOrThrow(AgentConfig, overrides, 'agent settings');
    // Loaded here: `tapfleet --help` and the other commands need none of the agent's code.
    const { HostAgent } = await import('./host-agent.js');
    const agent = await HostAgent.start({ config: { ...config, agent: agentConfig }, log });
    const sig = await untilSignal();
    log.info({ signal: sig }, 'agent stopping');
    await agent.stop();
    return 0;
  },
};
