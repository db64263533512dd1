import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { createClickHouse, PROJECT_ROOT, type ClickHouseClient } from '@tapfleet/runtime';
import { HopsResponse, LossReport, TxnResponse, type TapfleetConfig } from '@tapfleet/schemas';
import { isPortOpen, serviceDirs } from '@tapfleet/stack';
import { ApiClient, adminTokenPath } from '@tapfleet/control-plane';
import { QueryClient } from '@tapfleet/query';
import { isolatedStackConfig } from '../stack-harness.js';
import { eventually } from '../fleet/fleet-harness.js';
import { jaegerQueryFor } from '../jaeger/jaeger-query.js';

const BASE = 45000;
const ORDERS = 2000;
const HOPS = ['gateway', 'to_risk', 'risk', 'to_matcher', 'matcher', 'ack_to_risk', 'ack_to_gateway'];
const HOSTS = ['demo-gateway', 'demo-risk', 'demo-matcher'];
const TAPFLEET = join(PROJECT_ROOT, 'bin', 'tapfleet.js');
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'main-job');

/** The main job as a user runs it (`npm start` runs `tapfleet demo`), on ports and a data dir of its own. */
function demoConfig(): TapfleetConfig {
  const c = isolatedStackConfig(BASE);
  return { ...c, logLevel: 'info', demo: { ...c.demo, gatewayPort: BASE + 20, riskPort: BASE + 21, matcherPort: BASE + 22, agentMetricsPort: BASE + 23, rate: 1000 } };
}

/** Runs `fn` on every item, `width` at a time. */
async function eachLimited<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

describe('the main job: `tapfleet demo` (what `npm start` runs) traces every order of the demo end to end', () => {
  const config = demoConfig();
  const configFile = join(config.dataDir, 'demo.json');
  let child: ChildProcess;
  let stdout = '';
  let exited: Promise<number | null>;
  let ch: ClickHouseClient;
  let deployment = '';
  let pageUrl = '';

  /** Waits for a line of the demo's output; fails at once if the demo exits, with what it printed. */
  const waitForLine = async (pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(stdout);
      if (m) return m;
      if (child.exitCode !== null) throw new Error(`tapfleet demo exited ${child.exitCode} before printing ${pattern}:\n${stdout}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} from tapfleet demo within ${timeoutMs} ms; it printed:\n${stdout}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(configFile, JSON.stringify(config));
    // The environment a user has: no TAPFLEET_* of the test run's own stack.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAPFLEET_')));
    child = spawn(process.execPath, [TAPFLEET, 'demo', '--orders', String(ORDERS), '--no-install', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-20_000); });
    exited = new Promise((r) => child.on('exit', (code) => { writeFileSync(join(ARTIFACTS, 'demo.out'), `${stdout}\n--- stderr ---\n${stderr}`); r(code); }));
    // Past the stack's own start budget (a service still progressing may take 6 x 60 s), so its error is what fails here.
    await waitForLine(new RegExp(`all ${ORDERS} orders traced`), 480_000);
    deployment = /query hops (d-[0-9a-f]+)/.exec(stdout)?.[1] ?? '';
    pageUrl = /web page \(live hop latencies\): (\S+)/.exec(stdout)?.[1] ?? '';
    ch = createClickHouse(config);
  });

  after(async () => {
    await ch?.close();
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      spawnSync(process.execPath, [TAPFLEET, 'stack', 'down', '--config', configFile], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 60_000 });
    }
    // Every service's log, kept with the demo's output: a failure here is read from them.
    const logs = join(ARTIFACTS, 'logs');
    rmSync(logs, { recursive: true, force: true });
    mkdirSync(logs, { recursive: true });
    const stackDir = join(config.dataDir, 'stack');
    for (const name of existsSync(stackDir) ? readdirSync(stackDir) : []) {
      const file = join(stackDir, name, `${name}.log`);
      if (existsSync(file)) copyFileSync(file, join(logs, `${name}.log`));
    }
    rmSync(config.dataDir, { recursive: true, force: true });
  });

  test('it says what came up, deploys to the three demo hosts and prints the page with a viewer token', () => {
    for (const name of ['nats', 'clickhouse', 'redis', 'jaeger', 'control-plane', 'ingest', 'assembler', 'query', 'agent', 'demo-gateway', 'demo-risk', 'demo-matcher', 'demo-agent-gateway', 'demo-agent-risk', 'demo-agent-matcher'])
      assert.match(stdout, new RegExp(`^${name}\\s+started\\s+127\\.0\\.0\\.1:\\d+\\s+pid \\d+`, 'm'), `${name} reported as it came up`);
    for (const h of HOSTS) assert.match(stdout, new RegExp(`${h}: running`));
    assert.match(deployment, /^d-[0-9a-f]+$/);
    assert.match(pageUrl, new RegExp(`^http://127\\.0\\.0\\.1:${BASE + 12}/#/hops\\?deployment=${deployment}&last=5m&live=1&token=tf_`));
    assert.match(stdout, new RegExp(`tf-demo-client: sent=${ORDERS} acked=${ORDERS} `));
    assert.match(stdout, /first orders traced end to end [0-9.]+ s after the client started/);
  });

  test(`ClickHouse: all ${ORDERS} orders are complete transactions with all seven hops, across the three hosts`, async () => {
    const rows = await (await ch.query({
      query: `SELECT txn, countIf(kind = 'hop') AS hops, uniqExactIf(name, kind = 'hop') AS names, countIf(kind = 'txn' AND has(attr_values, 'true')) AS complete, uniqExact(host) AS hosts
              FROM ${config.clickhouse.database}.txn_spans FINAL WHERE deployment = '${deployment}' GROUP BY txn`, format: 'JSONEachRow',
    })).json<{ txn: string; hops: string; names: string; complete: string; hosts: string }>();
    assert.equal(rows.length, ORDERS);
    assert.deepEqual(rows.map((r) => Number(r.txn)).sort((a, b) => a - b), Array.from({ length: ORDERS }, (_, i) => i + 1));
    for (const r of rows) assert.deepEqual([r.hops, r.names, r.complete, r.hosts], ['7', '7', '1', '3'], `order ${r.txn}`);
  });

  test('the query API: each order\'s transaction with its seven hops; hop statistics count every order once', async () => {
    const query = new QueryClient(config.query.url, /token=([^&\s]+)/.exec(pageUrl)![1]!);
    const hops = await query.get('/v1/hops', { deployment, from: String(Date.now() - 3_600_000), to: String(Date.now() + 60_000) }, HopsResponse);
    assert.deepEqual(Object.fromEntries(hops.hops.map((h) => [h.name, h.count])), Object.fromEntries(HOPS.map((h) => [h, ORDERS])));
    // Same-host hops have the stage's injected busy wait as their floor (demo.delaysUs: 50, 20, 100 us).
    const floor = { gateway: 50_000, risk: 20_000, matcher: 100_000 };
    for (const [name, ns] of Object.entries(floor)) assert.ok(hops.hops.find((h) => h.name === name)!.p50 >= ns, `${name} p50 at least ${ns} ns`);
    await eachLimited(Array.from({ length: ORDERS }, (_, i) => String(i + 1)), 8, async (key) => {
      const r = await query.get('/v1/txn', { key, deployment }, TxnResponse);
      assert.equal(r.transactions.length, 1, `order ${key}`);
      const t = r.transactions[0]!;
      assert.deepEqual(t.spans.filter((s) => s.kind === 'hop').map((s) => s.name).sort(), [...HOPS].sort(), `order ${key}'s hops`);
      assert.deepEqual([...t.hosts].sort(), [...HOSTS].sort());
      assert.equal(t.events.length, 8, `order ${key}: eight events`);
    });
  });

  test('Jaeger: every order is a trace of eight spans (the transaction and its hops) from three host resources', async () => {
    const traces = await (await ch.query({ query: `SELECT DISTINCT txn, trace_id FROM ${config.clickhouse.database}.txn_spans FINAL WHERE deployment = '${deployment}'`, format: 'JSONEachRow' })).json<{ txn: string; trace_id: string }>();
    assert.equal(traces.length, ORDERS);
    const jaeger = jaegerQueryFor(config);
    await eachLimited(traces, 8, async ({ txn, trace_id }) => {
      const spans = await jaeger.waitForTrace(trace_id, (s) => s.length >= 8, { timeoutMs: 30_000 });
      assert.deepEqual(spans.map((s) => s.name).sort(), [...HOPS, 'transaction'].sort(), `order ${txn}`);
      assert.deepEqual(new Set(spans.map((s) => s.resource['host.id'])), new Set(HOSTS));
    });
  });

  test('the web page (chromium): the printed link shows live hop latencies for every order, and a transaction\'s waterfall', async () => {
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
      const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
      await page.goto(pageUrl);
      await page.waitForSelector('main[data-state="ready"] [data-testid=hops]', { timeout: 30_000 });
      assert.ok(!page.url().includes('token='), 'the page takes the token out of the address');
      const rows = await page.locator('[data-testid=hops] tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-hop'), tr.children[1]!.textContent]));
      assert.deepEqual(Object.fromEntries(rows), Object.fromEntries(HOPS.map((h) => [h, String(ORDERS)])));
      await page.screenshot({ path: join(ARTIFACTS, 'hops.png'), fullPage: true });
      // A new render of the live view comes by itself (the page re-reads every 5 s).
      const first = await page.evaluate('window.__tapfleetRenderedAt');
      await page.waitForFunction(`window.__tapfleetRenderedAt !== ${JSON.stringify(first)}`, undefined, { timeout: 20_000 });
      await page.goto(`${config.query.url}/#/txn?key=${ORDERS / 2}&deployment=${deployment}`);
      await page.waitForSelector('main[data-state="ready"] [data-testid=spans]', { timeout: 30_000 });
      const names = await page.locator('[data-testid=spans] tbody td:first-child').allTextContents();
      assert.deepEqual([...names].sort(), [...HOPS, 'transaction'].sort());
      await page.screenshot({ path: join(ARTIFACTS, 'waterfall.png'), fullPage: true });
    } finally {
      await browser?.close();
    }
  });

  test('`tapfleet loss`: no unexplained loss and no ring-buffer drops on any of the three hosts', async () => {
    const api = new ApiClient(config.controlPlane.url, readFileSync(adminTokenPath(config.dataDir), 'utf8').trim());
    const loss = await api.call('GET', `/v1/deployments/${deployment}/loss`, LossReport);
    assert.deepEqual(loss.rows.map((r) => r.host).sort(), [...HOSTS].sort());
    for (const r of loss.rows) {
      assert.equal(r.gapsUnexplained, 0, `${r.host}: no unexplained gaps`);
      assert.equal(r.ringBufferDrops, 0, `${r.host}: no ring-buffer drops`);
      assert.equal(r.received, r.producedByKernel, `${r.host}: every event the kernel produced reached the agent`);
    }
    const cli = spawnSync(process.execPath, [TAPFLEET, 'loss', deployment, '--config', configFile], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TAPFLEET_LOG_LEVEL: 'warn' } });
    assert.equal(cli.status, 0, cli.stderr);
    const lines = cli.stdout.trim().split('\n');
    const col = lines[0]!.split(/\s+/).indexOf('UNEXPLAINED');
    for (const h of HOSTS) assert.equal(lines.find((l) => l.startsWith(h))!.split(/\s+/)[col], '0', `${h}: UNEXPLAINED 0 in \`tapfleet loss\``);
    // And the inventory shows the three "hosts" with their labels and what their clock bounds rest on.
    const hosts = spawnSync(process.execPath, [TAPFLEET, 'hosts', '--config', configFile], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TAPFLEET_LOG_LEVEL: 'warn' } });
    for (const s of ['gateway', 'risk', 'matcher'])
      assert.match(hosts.stdout, new RegExp(`demo-${s}\\s+live\\s+demo=trading,stage=${s}\\s+\\S+ [0-9a-f]{12}\\s+-?[0-9.]+±[0-9.]+ us\\s+(request-reply|ntp)\\s+1\\s`), hosts.stdout);
  });

  test('Ctrl-C (SIGINT) stops the client, the deployment and every service it started, and exits 0', async () => {
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 120_000))]);
    assert.equal(code, 0, stdout.slice(-3000));
    assert.match(stdout, new RegExp(`deployment ${deployment} stopped`));
    assert.match(stdout, /stopped\.\s*$/);
    for (const name of ['nats', 'clickhouse', 'redis', 'jaeger', 'control-plane', 'ingest', 'assembler', 'query', 'agent', 'demo-gateway', 'demo-risk', 'demo-matcher', 'demo-agent-gateway', 'demo-agent-risk', 'demo-agent-matcher'] as const)
      assert.ok(!existsSync(serviceDirs(config, name).pidFile), `${name}: no pid file left`);
    for (const port of [config.demo.gatewayPort, config.demo.agentMetricsPort, config.query.port, config.controlPlane.port, BASE + 1, BASE + 3])
      assert.equal(await isPortOpen('127.0.0.1', port), false, `nothing listens on ${port} any more`);
  });
});
