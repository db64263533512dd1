import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, stringOption, UsageError, type Command, type CommandContext } from '@tapfleet/runtime';
import { z } from 'zod/v3';
import { CreateTokenResponse, DemoConfig, Deployment, DeploymentView, HostView, type RolloutPhase, type TapfleetConfig } from '@tapfleet/schemas';
import {
  DEMO_SERVICES, demoHostId, DEMO_STAGES, isOwnedAlive, runningServices, kernelPreflight, preflightText, PRODUCT_SERVICES, readPidFile, SERVER_SERVICES, SERVICE_HEADER, serviceDirs,
  serviceLine, stackDown, stackUp,
  type ServiceName,
} from '@tapfleet/stack';
import type { ApiClient } from '@tapfleet/control-plane';
import { DemoClient } from './demo-client.js';
import { StopSignal } from './stop-signal.js';
import { demoRunAlive, demoRunFile, readDemoRun, removeDemoRun, writeDemoRun } from './demo-run.js';
import { ProcessWatch } from './process-watch.js';

/** The script `tapfleet demo` deploys: every order a transaction across the three demo hosts. */
export const DEMO_SCRIPT = join(PROJECT_ROOT, 'test', 'demo', 'trading.tap');
const SUMMARY_EVERY_MS = 15_000;
const TRACED_TIMEOUT_MS = 180_000;

/** Everything the main job runs: the servers with Jaeger, tapfleet's services, the demo pipeline and its agents. */
const MAIN_JOB: readonly ServiceName[] = [...SERVER_SERVICES, 'jaeger', ...PRODUCT_SERVICES, ...DEMO_SERVICES];

function wholeNumber(values: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const text = stringOption(values as never, name);
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`--${name}: expected a whole number, got '${text}'`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`--${name}: ${text} is out of range (${min} to ${max})`);
  return n;
}

/** The largest --rate the config schema allows (demo.rate): one bound for the option and the file. */
const MAX_RATE = DemoConfig.shape.rate.removeDefault().maxValue ?? 1_000_000;

/**
 * `--orders N` (1 or more: the client's --count 0 would mean "until stopped", and the demo would
 * then wait for 0 orders forever) and `--rate N` (0 = as fast as the client's window allows).
 */
export function demoOptions(values: Record<string, unknown>): { orders: number | undefined; rate: number | undefined } {
  return { orders: wholeNumber(values, 'orders', 1, 1e9), rate: wholeNumber(values, 'rate', 0, MAX_RATE) };
}

/** How the client's pace reads in the output. */
export const rateText = (rate: number) => (rate === 0 ? 'as fast as the client\'s in-flight window allows (rate 0)' : `at ${rate}/s`);

/** The page's live hop view of the deployment; the viewer token rides in the fragment (never sent to a server), and the page keeps it. */
function pageUrl(config: TapfleetConfig, deployment: string, token: string): string {
  return `${config.query.url.replace(/\/$/, '')}/#/hops?deployment=${deployment}&last=5m&live=1&token=${encodeURIComponent(token)}`;
}

export const demoCommand: Command = {
  path: ['demo'],
  summary: "the main job: start the stack, tapfleet, the demo trading pipeline as three traced hosts, and show live hop latencies; Ctrl-C stops everything it started",
  details: [
    'Starts NATS, ClickHouse, Redis and Jaeger, the control plane, ingest, the assembler, the query service and',
    "this host's agent, then the demo pipeline (test/demo: gateway, risk, matcher) with one agent per stage,",
    `deploys ${'test/demo/trading.tap'} to them, starts the order client and prints the web page's URL.`,
    'Runs until SIGINT/SIGTERM (Ctrl-C), then stops the client, the deployment and every service it started',
    '(services already running, e.g. from `stack up`, are left running). Config section `demo`: ports, rate, delays.',
  ].join('\n'),
  options: {
    orders: { type: 'string', description: 'send this many orders (1 or more), wait until every one is traced, then keep running (default: send until stopped)', valueName: 'N' },
    rate: { type: 'string', description: `orders per second, 0 to ${MAX_RATE} (0: as fast as the client's window allows; default: demo.rate, 200)`, valueName: 'N' },
    'no-install': { type: 'boolean', description: 'do not apt-get missing packages' },
  },
  async run(values, _positionals, ctx) {
    const { orders, rate } = demoOptions(values);
    const config = rate === undefined ? ctx.config : { ...ctx.config, demo: { ...ctx.config.demo, rate } };
    const problems = kernelPreflight();
    if (problems.length) {
      for (const l of preflightText(problems)) ctx.out(l);
      ctx.out('Nothing was started.');
      return 1;
    }
    // One demo per data dir: a second one would stop the first's client and deployment as "left over".
    const runFile = demoRunFile(config);
    const earlier = readDemoRun(runFile);
    if (demoRunAlive(earlier) && earlier.pid !== process.pid) {
      ctx.out(`tapfleet demo is already running here (pid ${earlier.pid}, data dir ${config.dataDir}): its page link is in its terminal.`);
      ctx.out(`Stop it first (Ctrl-C in its terminal, or kill -INT ${earlier.pid}), or give this one its own data dir and ports (--config). Nothing was started.`);
      return 1;
    }
    // Services a killed earlier demo started are this run's to stop, not "started before" by the user.
    const adopted = new Set(earlier?.services.filter((n): n is ServiceName => MAIN_JOB.includes(n as ServiceName)) ?? []);
    const before = alreadyRunning(config);
    const run: DemoRun = {
      orders, install: values['no-install'] !== true, stop: new StopSignal(),
      alreadyRunning: new Set([...before].filter((n) => !adopted.has(n))),
      adopted: [...before].filter((n) => adopted.has(n)),
    };
    writeDemoRun(runFile, MAIN_JOB.filter((n) => !run.alreadyRunning.has(n)));
    // Progress goes to stdout as plain lines; the stack's own info logs would only repeat it.
    const quiet = { ...ctx, log: ctx.config.logLevel === 'info' ? ctx.log.child({}, { level: 'warn' }) : ctx.log };
    try {
      return await runDemo(config, quiet, run);
    } catch (e) {
      ctx.out(`tapfleet demo failed: ${(e as Error).message}`);
      return 1;
    } finally {
      await shutdown(config, quiet, run);
      removeDemoRun(runFile);
      run.stop.dispose();
    }
  },
};

interface DemoRun {
  orders: number | undefined;
  install: boolean;
  stop: StopSignal;
  /** Services of the main job this stack had running before this run: left running at the end. */
  alreadyRunning: ReadonlySet<ServiceName>;
  /** Services a killed earlier `tapfleet demo` started and left running: reused, and stopped at the end. */
  adopted: readonly ServiceName[];
  deployment?: { api: ApiClient; id: string };
  client?: DemoClient;
}

/** The main job's services this stack already runs (live pid file): a second `npm start` must not stop the first one's. */
function alreadyRunning(config: TapfleetConfig): Set<ServiceName> {
  return runningServices(config, MAIN_JOB);
}

async function runDemo(config: TapfleetConfig, { log, out }: CommandContext, run: DemoRun): Promise<number> {
  const t0 = Date.now();
  const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  out('tapfleet demo: starting the stack, tapfleet and the demo pipeline (first start installs and builds; Ctrl-C stops everything)');
  if (run.adopted.length) out(`taking over what an earlier tapfleet demo (no longer running) left running, to stop it at the end: ${run.adopted.join(', ')}`);
  out(SERVICE_HEADER);
  await stackUp(config, log, {
    install: run.install,
    only: MAIN_JOB,
    onReady: (r) => out(serviceLine(r)),
    signal: run.stop.signal,
  });
  if (run.stop.requested) return 130;
  out(`all ${MAIN_JOB.length} services up after ${since()}`);

  // The clients load once the stack is up: `tapfleet --help` lists this command without them.
  const [{ ApiClient, followRollout }, { QueryClient }, { demoHops, hopLine, tracedOrders }] = await Promise.all([import('@tapfleet/control-plane'), import('@tapfleet/query'), import('./hop-summary.js')]);
  const api = ApiClient.fromConfig(config);
  // A deployment goes to the hosts live in the inventory when it is made: wait for all three.
  const hostIds = DEMO_STAGES.map(demoHostId);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const live = new Set((await api.call('GET', '/v1/hosts', z.array(HostView))).filter((h) => h.live).map((h) => h.hostId));
    if (hostIds.every((h) => live.has(h))) break;
    if (Date.now() > deadline) throw new Error(`the demo agents did not all join within 60 s (live: ${hostIds.filter((h) => live.has(h)).join(', ') || 'none'}); see their logs under ${config.dataDir}/stack/`);
    if ((await run.stop.wait(250)) === 'stop') return 130;
  }
  await stopEarlierRuns(config, api, out);
  const script = readFileSync(DEMO_SCRIPT, 'utf8');
  out(`deploying test/demo/trading.tap to the hosts labelled demo=trading (${DEMO_STAGES.map(demoHostId).join(', ')})`);
  const created = await api.call('POST', '/v1/deployments', DeploymentView, { scriptName: 'trading.tap', script, selector: { demo: 'trading' }, ttl: config.demo.ttl, canary: false });
  run.deployment = { api, id: created.id };
  const view = await followRollout(api, created.id, (l) => out(`  ${l}`), 120_000);
  const running = DEMO_STAGES.filter((s) => view.hosts[demoHostId(s)]?.state === 'running');
  if (running.length !== DEMO_STAGES.length) {
    out(`the demo deployment ${created.id} is not running on every demo host (${running.length} of ${DEMO_STAGES.length}); see \`node bin/tapfleet.js status ${created.id}\` and the agents' logs under ${config.dataDir}/stack/`);
    return 1;
  }
  out(`deployment ${created.id} running on ${DEMO_STAGES.length} hosts after ${since()}`);
  if (run.stop.requested) return 130;

  const viewer = await api.call('POST', '/v1/tokens', CreateTokenResponse, { name: 'demo-viewer', role: 'viewer' });
  const client = new DemoClient(config.demo, run.orders ?? 0, clientPidFile(config));
  run.client = client;
  const clientStartMs = Date.now();
  out(`orders: ${run.orders ?? 'continuous'} ${rateText(config.demo.rate)} from test/demo/build/tf-demo-client`);
  out('');
  out(`web page (live hop latencies): ${pageUrl(config, created.id, viewer.token)}`);
  out(`Jaeger: http://127.0.0.1:${config.jaeger.queryPort}/search   history: node bin/tapfleet.js query hops ${created.id} --last 5m`);
  out('');

  const query = QueryClient.fromConfig(config, viewer.token);
  let firstSeen = false;
  let lastSummaryMs = 0;
  let target = run.orders;
  const continuous = run.orders === undefined;
  const watch = new ProcessWatch(config, MAIN_JOB);
  for (;;) {
    const tick = await run.stop.wait(1000);
    if (tick === 'stop') return 0;
    const lost = watch.lost();
    if (lost.length) {
      for (const p of lost) out(`${p.name} (pid ${p.pid}) exited while the demo ran; the last line of ${p.logFile}: ${p.lastLine || '(empty)'}`);
      out('the demo cannot go on without it: stopping everything (npm start starts it all again)');
      return 1;
    }
    if (continuous && client.child.exitCode !== null) {
      out(`the order client exited on its own (exit ${client.child.exitCode}): ${client.summary()?.line ?? (client.text.split('\n').at(-1) || '(no output)')}`);
      out('stopping everything (npm start starts it all again)');
      return 1;
    }
    if (run.orders !== undefined && client.child.exitCode !== null && target === run.orders) {
      const s = client.summary();
      out(`client finished (exit ${client.child.exitCode}): ${s?.line ?? client.text}`);
      if (client.child.exitCode !== 0) return 1;
      target = s?.fields.acked ?? run.orders;
    }
    const hops = await demoHops(query, created.id, clientStartMs - 60_000, Date.now() + 60_000).catch((e: Error) => {
      log.warn({ err: e.message }, 'query service did not answer');
      return undefined;
    });
    if (!hops) continue;
    const traced = tracedOrders(hops);
    if (!firstSeen && traced > 0) {
      firstSeen = true;
      out(`first orders traced end to end ${((Date.now() - clientStartMs) / 1000).toFixed(1)} s after the client started`);
    }
    if (target !== undefined && client.child.exitCode !== null && traced >= target) {
      out(`all ${target} orders traced, every hop (p50/p99): ${hopLine(hops)}`);
      out('still running: Ctrl-C stops everything');
      target = undefined; // report once, then idle until stopped
      run.orders = undefined;
      continue;
    }
    if (target !== undefined && Date.now() - clientStartMs > TRACED_TIMEOUT_MS && client.child.exitCode !== null) {
      out(`only ${traced} of ${target} orders traced after ${TRACED_TIMEOUT_MS / 1000} s: see node bin/tapfleet.js loss ${created.id}`);
      return 1;
    }
    if (firstSeen && Date.now() - lastSummaryMs >= SUMMARY_EVERY_MS && client.child.exitCode === null) {
      lastSummaryMs = Date.now();
      const recent = await demoHops(query, created.id, Date.now() - 60_000, Date.now() + 60_000).catch(() => hops);
      out(`${new Date().toISOString().slice(11, 19)} ${traced} orders traced; last minute p50/p99 ${hopLine(recent)}`);
    }
  }
}

/** Rollout phases after which a deployment traces nothing. */
const ENDED: readonly RolloutPhase[] = ['failed', 'stopped', 'expired'];

const clientPidFile = (config: TapfleetConfig) => join(config.dataDir, 'stack', 'demo-client', 'demo-client.pid');

/**
 * What a `tapfleet demo` that was killed (kill -9, a closed terminal) left behind: its order
 * client, still sending, and its deployment, still tracing until its TTL. Both are stopped so the
 * orders and spans on the page are this run's alone.
 */
async function stopEarlierRuns(config: TapfleetConfig, api: ApiClient, out: (l: string) => void): Promise<void> {
  const pid = await DemoClient.stopLeftover(clientPidFile(config));
  if (pid) out(`stopped the order client an earlier run left running (pid ${pid})`);
  const earlier = (await api.call('GET', '/v1/deployments', z.array(Deployment)))
    .filter((d) => d.selector.demo === 'trading' && Object.keys(d.selector).length === 1 && !ENDED.includes(d.phase) && d.expiresAtMs > Date.now());
  for (const d of earlier) {
    await api.call('POST', `/v1/deployments/${d.id}/stop`, DeploymentView);
    out(`stopped the demo deployment ${d.id} an earlier run left running`);
  }
}

/**
 * Stops, in order: the client, the demo deployment, then every service of the main job this run
 * started (by pid file, so also one that started but never became healthy), never one it found running.
 */
async function shutdown(config: TapfleetConfig, { log, out }: CommandContext, run: DemoRun): Promise<void> {
  out('stopping: the client, the demo deployment, then what this started');
  if (run.client) {
    await run.client.stop();
    const s = run.client.summary();
    if (s) out(`  ${s.line}`);
  }
  const d = run.deployment;
  if (d) {
    await d.api.call('POST', `/v1/deployments/${d.id}/stop`, DeploymentView).then(
      () => out(`  deployment ${d.id} stopped`),
      (e: Error) => out(`  could not stop deployment ${d.id}: ${e.message} (its TTL ends it)`),
    );
  }
  const mine = MAIN_JOB.filter((n) => !run.alreadyRunning.has(n));
  // A process that died before the stop is not reported as stopped by it.
  const exited = new Set<string>(mine.filter((n) => {
    const rec = readPidFile(serviceDirs(config, n).pidFile);
    return rec !== undefined && !isOwnedAlive(rec);
  }));
  const reports = await stackDown(config, log, mine);
  // Listed in the order they were stopped: the demo's agents and stages first, the servers last.
  for (const r of [...reports].reverse()) if (r.pid) out(`  ${r.name} ${exited.has(r.name) ? 'had already exited' : 'stopped'} (pid ${r.pid})`);
  if (run.alreadyRunning.size) out(`  left running (started before this run): ${[...run.alreadyRunning].join(', ')}`);
  out('stopped.');
}
