import { basename } from 'node:path';
import { z } from 'zod/v3';
import { parseKeyValues, readFileArg, stringOption, terminalWord, untilSignal, UsageError, type Command } from '@tapfleet/runtime';
import {
  AggregationsView, CreateTokenResponse, Deployment, DeploymentView, FINAL_STATES, foldedLines, HostView, LossReport, mapText, Role, UnknownDeployment, UnknownDeploymentStopped,
  type CreateDeploymentRequest,
} from '@tapfleet/schemas';
import { ApiClient } from '../api-client.js';
import { ago, deploymentIdArg, HOST_HEADER, hostRows, hostStateText, table } from './common.js';
import { lossReasonLines } from './loss-text.js';
import { commandLineText } from './command-line-text.js';

const json = { type: 'boolean' as const, description: 'print JSON instead of text' };

export const controlPlaneCommand: Command = {
  path: ['control-plane'],
  summary: 'run the control plane: HTTP API, fleet inventory, compiles, rollouts, time service',
  details: 'Listens on controlPlane.host:port (default 127.0.0.1:7700). Runs until SIGINT/SIGTERM.',
  async run(_values, _positionals, { config, log, out }) {
    // Loaded here: the server (NATS, Redis, the compile pool) is only for this long-running command.
    const { adminTokenPath, ControlPlane } = await import('../control-plane.js');
    const plane = await ControlPlane.start({ config, log });
    out(`control plane on ${plane.url}; admin token in ${adminTokenPath(config.dataDir)}`);
    await untilSignal();
    await plane.stop();
    return 0;
  },
};

/** Polls the deployment and prints each host's state as it changes, until all settle or the rollout ends. */
export async function followRollout(api: ApiClient, id: string, out: (l: string) => void, timeoutMs: number): Promise<DeploymentView> {
  const seen = new Map<string, string>();
  let phase = '';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await api.call('GET', `/v1/deployments/${id}`, DeploymentView);
    if (view.phase !== phase) {
      phase = view.phase;
      out(`rollout ${phase}${view.message ? `: ${terminalWord(view.message)}` : ''}`);
    }
    for (const [host, s] of Object.entries(view.hosts)) {
      const text = hostStateText(s);
      if (seen.get(host) !== text) {
        seen.set(host, text);
        out(`  ${host}: ${text}`);
      }
    }
    const assigned = view.targets.filter((t) => view.phase !== 'failed' || t.canary);
    const settled = assigned.every((t) => { const s = view.hosts[t.hostId]!.state; return s === 'running' || FINAL_STATES.includes(s); });
    if (['failed', 'stopped', 'expired'].includes(view.phase) || (view.phase === 'done' && settled)) return view;
    if (Date.now() > deadline) {
      out(`still rolling out after ${timeoutMs} ms; follow with 'tapfleet status ${id}'`);
      return view;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const deployCommand: Command = {
  path: ['deploy'],
  summary: 'compile a script per kernel build and roll it out to the selected hosts',
  args: 'FILE [PARAM...]',
  options: {
    select: { type: 'string', description: 'hosts whose labels match all pairs', valueName: 'K=V,..' },
    ttl: { type: 'string', description: 'detach after this long, even if the control plane is gone (default 10m)', valueName: 'DURATION' },
    canary: { type: 'boolean', description: 'one host per kernel build first; continue only if all run' },
    'no-wait': { type: 'boolean', description: 'return once created instead of following the rollout' },
    'timeout-ms': { type: 'string', description: 'how long to follow the rollout (default 120000)', valueName: 'MS' },
    json,
  },
  async run(values, positionals, { config, out }) {
    const select = stringOption(values, 'select');
    if (!select) throw new UsageError('--select K=V is required (deploying to every host by accident is not a feature)');
    // Words after FILE are the script's positional parameters ($1, $2, ...), as for tapfleet run.
    const { file, text: script } = readFileArg(positionals.slice(0, 1));
    const params = positionals.slice(1);
    const api = ApiClient.fromConfig(config);
    const body: CreateDeploymentRequest = { scriptName: basename(file), script, selector: parseKeyValues(select, '--select'), ttl: stringOption(values, 'ttl') ?? '10m', canary: values.canary === true, params };
    const created = await api.call('POST', '/v1/deployments', DeploymentView, body);
    const groups = Object.keys(created.bundles).length;
    if (!values.json) out(`deployment ${created.id}: ${created.targets.length} host(s), ${groups} bundle(s) (${created.compiles.cached} from the compile cache)`);
    if (values['no-wait']) {
      if (values.json) out(JSON.stringify(created));
      return 0;
    }
    const final = await followRollout(api, created.id, values.json ? () => {} : out, Number(stringOption(values, 'timeout-ms') ?? 120_000));
    if (values.json) out(JSON.stringify(final));
    const allRunning = final.targets.every((t) => final.hosts[t.hostId]!.state === 'running');
    return allRunning ? 0 : 1;
  },
};

export const deploymentsCommand: Command = {
  path: ['deployments'],
  summary: 'list deployments, newest first',
  options: { json },
  async run(values, _p, { config, out }) {
    const api = ApiClient.fromConfig(config);
    const list = await api.call('GET', '/v1/deployments', z.array(Deployment));
    const unknown = await api.call('GET', '/v1/deployments/unknown', z.array(UnknownDeployment));
    if (values.json) return out(JSON.stringify({ deployments: list, unknown })), 0;
    // A deployment's parameters are part of what it runs: `orders.tap 1234 foo`, as it was deployed.
    const rows = list.map((d) => [d.id, commandLineText([d.scriptName, ...(d.params ?? [])]), d.phase, String(d.targets.length), Object.entries(d.selector).map(([k, v]) => `${k}=${v}`).join(','), ago(d.createdAtMs), new Date(d.expiresAtMs).toISOString()]);
    for (const l of table(['ID', 'SCRIPT', 'PHASE', 'HOSTS', 'SELECTOR', 'CREATED', 'EXPIRES'], rows)) out(l);
    if (unknown.length) {
      out('');
      out('reported by agents but unknown to this control plane (tapfleet stop ID stops them):');
      const urows = unknown.flatMap((u) => Object.entries(u.hosts).map(([h, s]) => [u.id, h, s.state, ago(s.updatedAtMs), s.reason ?? '']));
      for (const l of table(['ID', 'HOST', 'STATE', 'REPORTED', 'REASON'], urows)) out(l);
    }
    return 0;
  },
};

export const statusCommand: Command = {
  path: ['status'],
  summary: "a deployment's rollout phase and every host's state",
  args: 'DEPLOYMENT',
  options: { json },
  async run(values, positionals, { config, out }) {
    const view = await ApiClient.fromConfig(config).call('GET', `/v1/deployments/${deploymentIdArg(positionals)}`, DeploymentView);
    if (values.json) return out(JSON.stringify(view)), 0;
    out(`${view.id} ${commandLineText([view.scriptName, ...(view.params ?? [])])}: ${view.phase}${view.message ? ` (${terminalWord(view.message)})` : ''}, expires ${new Date(view.expiresAtMs).toISOString()}`);
    for (const l of table(HOST_HEADER, hostRows(view))) out(l);
    return 0;
  },
};

export const stopCommand: Command = {
  path: ['stop'],
  summary: 'stop a deployment: every host detaches its probes',
  args: 'DEPLOYMENT',
  async run(_values, positionals, { config, out }) {
    const r = await ApiClient.fromConfig(config).call('POST', `/v1/deployments/${deploymentIdArg(positionals)}/stop`, z.union([UnknownDeploymentStopped, DeploymentView]));
    if ('stopping' in r) out(`${r.id}: unknown to this control plane; told ${Object.keys(r.hosts).join(', ')} to stop it`);
    else out(`${r.id}: ${r.phase}${r.message ? ` (${terminalWord(r.message)})` : ''}`);
    return 0;
  },
};

export const hostsCommand: Command = {
  path: ['hosts'],
  summary: 'the fleet inventory: hosts, labels, kernel builds, liveness, clock offsets',
  options: { json },
  async run(values, _p, { config, out }) {
    const hosts = await ApiClient.fromConfig(config).call('GET', '/v1/hosts', z.array(HostView));
    if (values.json) return out(JSON.stringify(hosts)), 0;
    const rows = hosts.map((h) => [
      h.hostId, h.live ? 'live' : 'gone', Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(','), `${h.kernel.release} ${h.kernel.buildId.slice(0, 12)}`,
      h.clock ? `${(h.clock.offsetNs / 1000).toFixed(1)}±${(h.clock.uncertaintyNs / 1000).toFixed(1)} us` : '-',
      // What the bound rests on: a request/reply exchange with the time service, or the kernel's NTP discipline.
      h.clock?.source ?? (h.clock ? 'request-reply' : '-'), String(h.runningDeployments.length), ago(h.lastSeenMs),
    ]);
    for (const l of table(['HOST', 'LIVE', 'LABELS', 'KERNEL', 'CLOCK OFFSET', 'CLOCK SOURCE', 'RUNNING', 'SEEN'], rows)) out(l);
    return 0;
  },
};

export const aggsCommand: Command = {
  path: ['aggs'],
  summary: "a deployment's maps merged across hosts (one histogram for the fleet)",
  args: 'DEPLOYMENT',
  options: { json, folded: { type: 'boolean', description: 'print maps keyed by kstack/ustack as folded stacks (frame;frame N, root first), merged across hosts' } },
  async run(values, positionals, { config, out }) {
    if (values.json && values.folded) throw new UsageError('give --json or --folded, not both');
    const view = await ApiClient.fromConfig(config).call('GET', `/v1/deployments/${deploymentIdArg(positionals)}/aggs`, AggregationsView);
    if (values.json) return out(JSON.stringify(view)), 0;
    if (values.folded) {
      const toEntries = (m: AggregationsView['maps'][number]) => m.entries.map((e) => ({ key: e.key, value: BigInt(e.value), ...(e.count ? { count: BigInt(e.count) } : {}) }));
      for (const m of view.maps) if (m.stackKeys?.length) foldedLines(m, toEntries(m)).forEach((l) => out(l));
      return 0;
    }
    out(`${view.deploymentId}: ${view.hosts.length} host(s) reporting (${view.hosts.join(', ')})`);
    for (const m of view.maps) {
      const entries = m.entries.map((e) => ({ key: e.key, value: BigInt(e.value), ...(e.count ? { count: BigInt(e.count) } : {}), ...(e.buckets ? { buckets: e.buckets.map(BigInt) } : {}), ...(e.text !== undefined ? { text: e.text } : {}) }));
      for (const l of mapText(m, entries)) out(l);
    }
    return 0;
  },
};

export const lossCommand: Command = {
  path: ['loss'],
  summary: 'end-to-end loss accounting of a deployment: kernel, ring buffer, agent, spool, bus, ClickHouse',
  args: 'DEPLOYMENT',
  options: { json },
  async run(values, positionals, { config, out }) {
    const report = await ApiClient.fromConfig(config).call('GET', `/v1/deployments/${deploymentIdArg(positionals)}/loss`, LossReport);
    if (values.json) return out(JSON.stringify(report)), 0;
    const rows = report.rows.map((r) => [r.host, r.bootId.slice(0, 8), r.state, ...[r.producedByKernel, r.ringBufferDrops, r.received, r.malformed, r.spooled, r.spoolDrops, r.published, r.stored, r.notYetStored, r.sequenceGaps, r.gapsUnexplained].map(String)]);
    for (const l of table(['HOST', 'BOOT', 'STATE', 'PRODUCED', 'RB-DROPS', 'RECEIVED', 'MALFORMED', 'SPOOLED', 'SPOOL-DROPS', 'PUBLISHED', 'STORED', 'NOT-STORED', 'SEQ-GAPS', 'UNEXPLAINED'], rows)) out(l);
    for (const l of lossReasonLines(report)) out(l);
    return 0;
  },
};

export const tokenCommand: Command = {
  path: ['token', 'create'],
  summary: 'create an API token (admin): viewer reads, operator deploys and stops, admin manages tokens, agent enrolls hosts',
  args: 'NAME',
  options: { role: { type: 'string', description: 'viewer | operator | admin | agent (a join token: start agents with TAPFLEET_JOIN_TOKEN)', valueName: 'ROLE' } },
  async run(values, positionals, { config, out }) {
    if (positionals.length !== 1) throw new UsageError('give exactly one token NAME');
    const role = Role.safeParse(stringOption(values, 'role') ?? 'viewer');
    if (!role.success) throw new UsageError('--role is viewer, operator, admin or agent');
    const r = await ApiClient.fromConfig(config).call('POST', '/v1/tokens', CreateTokenResponse, { name: positionals[0], role: role.data });
    out(r.token);
    return 0;
  },
};

export const fleetCommands: Command[] = [controlPlaneCommand, deployCommand, deploymentsCommand, statusCommand, stopCommand, hostsCommand, aggsCommand, lossCommand, tokenCommand];
