import type { ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import type { ClickHouseClient } from '@tapfleet/runtime';
import { createClickHouse } from '@tapfleet/runtime';
import { DeploymentView } from '@tapfleet/schemas';
import { buildDemo, demoBinaryPaths, DemoProcess, type DemoStage } from '../demo/demo-pipeline.js';
import { AgentProcess, eventually, FleetStack } from '../fleet/fleet-harness.js';
import { jaegerOtlpTracesUrl, jaegerQueryFor, type JaegerQuery, type JaegerSpan } from '../jaeger/jaeger-query.js';

/**
 * The demo pipeline traced as three hosts on this machine: one agent per stage (gateway, risk,
 * matcher), each scoped to its own process, with the control plane, ingest, the assembler
 * (exporting to a real Jaeger), NATS, ClickHouse and Redis of a private stack.
 */
export const PIPELINE_SCRIPT = `# Every receive and forward of an order on its way to the matcher, with the kernel's
# monotonic clock (k) so a test on one machine knows each hop's true duration.
probe demo.gateway.order_recv { emit gw_in { txn: $order, k: nsecs } }
probe demo.gateway.order_fwd { emit gw_out { txn: $order, k: nsecs } }
probe demo.risk.order_recv { emit risk_in { txn: $order, k: nsecs } }
probe demo.risk.order_fwd { emit risk_out { txn: $order, k: nsecs } }
probe demo.matcher.order_recv { emit match_in { txn: $order, k: nsecs } }
probe demo.matcher.order_ack { emit match_ack { txn: $order, k: nsecs } }

hop gateway = gw_in -> gw_out;
hop to_risk = gw_out -> risk_in;
hop risk = risk_in -> risk_out;
hop to_matcher = risk_out -> match_in;
hop matcher = match_in -> match_ack;
final match_ack;
`;

export const HOPS = ['gateway', 'to_risk', 'risk', 'to_matcher', 'matcher'] as const;
/** Injected busy waits per stage (us): the truth of the same-host hops, at least. */
export const DELAYS_US = { gateway: 50, risk: 20, matcher: 100 } as const;

export interface PipelineOptions {
  base: number;
  /** Extra agent config per stage (e.g. the risk host's artificial clock offset). */
  agentConfig?: Partial<Record<'gateway' | 'risk' | 'matcher', Record<string, unknown>>>;
  assemblerConfig?: Record<string, unknown>;
}

export class TracedPipeline {
  readonly stack: FleetStack;
  readonly jaeger: JaegerQuery;
  ch!: ClickHouseClient;
  bins!: Record<DemoStage, string>;
  readonly stages = new Map<string, DemoProcess>();
  readonly agents = new Map<string, AgentProcess>();
  assembler!: ChildProcess;
  deploymentId = '';

  constructor(readonly o: PipelineOptions) {
    this.stack = new FleetStack(o.base, o.base + 8);
    this.jaeger = jaegerQueryFor(this.stack.config);
  }

  get db(): string {
    return this.stack.config.clickhouse.database;
  }

  port(stage: 'gateway' | 'risk' | 'matcher'): number {
    return this.o.base + 100 + ['gateway', 'risk', 'matcher'].indexOf(stage);
  }

  async start(): Promise<void> {
    const { stack, o } = this;
    await stack.up(['nats', 'redis', 'clickhouse', 'jaeger']);
    await stack.startControlPlane();
    this.ch = createClickHouse(stack.config);
    stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: o.base + 20, fetchWaitMs: 100 } }, 'ingest');
    await eventually('ingest /healthz', async () => (await fetch(`http://127.0.0.1:${o.base + 20}/healthz`)).ok, 30_000);
    this.assembler = stack.spawnTapfleet(['assembler'], { assembler: { metricsPort: o.base + 21, quietMs: 500, otlp: { url: jaegerOtlpTracesUrl(stack.config) }, ...o.assemblerConfig } }, 'assembler');
    await eventually('assembler /healthz', async () => (await fetch(`http://127.0.0.1:${o.base + 21}/healthz`)).ok, 30_000);
    this.bins = buildDemo();
    const m = new DemoProcess(this.bins.matcher, ['--listen', String(this.port('matcher')), '--delay-us', String(DELAYS_US.matcher)]);
    const r = new DemoProcess(this.bins.risk, ['--listen', String(this.port('risk')), '--downstream', String(this.port('matcher')), '--delay-us', String(DELAYS_US.risk)]);
    const g = new DemoProcess(this.bins.gateway, ['--listen', String(this.port('gateway')), '--downstream', String(this.port('risk')), '--delay-us', String(DELAYS_US.gateway)]);
    this.stages.set('matcher', m).set('risk', r).set('gateway', g);
    await Promise.all([m.ready, r.ready, g.ready]);
    const stages = ['gateway', 'risk', 'matcher'] as const;
    for (const [i, stage] of stages.entries()) {
      const agent = new AgentProcess(stack, {
        hostId: `${stage}-host`, labels: { demo: 'pipeline', stage }, scopePid: this.stages.get(stage)!.child.pid!,
        binaries: demoBinaryPaths(this.bins), agent: o.agentConfig?.[stage] ?? {},
      }, o.base + 30 + i);
      await agent.start();
      this.agents.set(stage, agent);
    }
    const d = await stack.api().call('POST', '/v1/deployments', DeploymentView, { scriptName: 'pipeline.tap', script: PIPELINE_SCRIPT, selector: { demo: 'pipeline' }, ttl: '30m', canary: false });
    this.deploymentId = d.id;
    await eventually('the pipeline deployment running on all three hosts', async () => {
      const v = await stack.api().call('GET', `/v1/deployments/${d.id}`, DeploymentView);
      return stages.every((s) => v.hosts[`${s}-host`]?.state === 'running') || undefined;
    }, 60_000, 200);
  }

  /** Runs the client for `count` orders from `firstId`; resolves with its summary output. */
  async orders(count: number, rate: number, firstId = 1): Promise<string> {
    const c = new DemoProcess(this.bins.client, ['--connect', String(this.port('gateway')), '--count', String(count), '--rate', String(rate), '--first-id', String(firstId)]);
    const code = await c.exited;
    assert.equal(code, 0, `client: ${c.output}`);
    return c.output;
  }

  async metric(base: number, name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${base}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith(name)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  }

  async query<T>(sql: string): Promise<T[]> {
    return (await this.ch.query({ query: sql, format: 'JSONEachRow' })).json<T>();
  }

  async stop(): Promise<void> {
    if (this.deploymentId) await this.stack.api().call('POST', `/v1/deployments/${this.deploymentId}/stop`, DeploymentView).catch(() => undefined);
    for (const s of this.stages.values()) await s.stop();
    await this.ch?.close();
    await this.stack.cleanup();
  }
}

/** Jaeger shows exactly the stored spans of `txn` (ids, parents, names, ns times, host resources), no copies. */
export async function jaegerShowsStored(ch: ClickHouseClient, db: string, jaeger: JaegerQuery, dep: string, txn: string): Promise<JaegerSpan[]> {
  const stored = new Map((await (await ch.query({ query: `SELECT trace_id, span_id, parent_span_id, name, host, start_ns, end_ns, duration_ns FROM ${db}.txn_spans FINAL WHERE deployment = '${dep}' AND txn = '${txn}'`, format: 'JSONEachRow' }))
    .json<{ trace_id: string; span_id: string; parent_span_id: string; name: string; host: string; start_ns: string; end_ns: string; duration_ns: string }>()).map((r) => [r.span_id, r]));
  assert.ok(stored.size > 0, `transaction ${txn} has stored spans`);
  const traceId = [...stored.values()][0]!.trace_id;
  const spans = await jaeger.waitForTrace(traceId, (s) => s.length >= stored.size, { timeoutMs: 20_000 });
  assert.equal(spans.length, stored.size, `trace of ${txn}: ${spans.map((s) => s.name).join(', ')}`);
  for (const s of spans) {
    const r = stored.get(s.spanId);
    assert.ok(r, `span ${s.spanId} (${s.name}) is stored`);
    assert.equal(s.name, r.name);
    assert.equal(s.parentSpanId ?? '', r.parent_span_id);
    assert.equal(s.startNs, BigInt(r.start_ns), `${s.name} start in ns`);
    if (BigInt(r.duration_ns) >= 0n) assert.equal(s.endNs, BigInt(r.end_ns), `${s.name} end in ns`);
    assert.equal(s.resource['host.id'], r.host);
  }
  return spans;
}
