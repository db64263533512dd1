import type { Counter, Gauge, Registry } from 'prom-client';
import { createMetricsRegistry, promMetrics } from '@tapfleet/runtime';
import { ClockSource, type ClockEstimate, type KernelClockStatus, type LossCounters } from '@tapfleet/schemas';

export interface AgentMetrics {
  registry: Registry;
  runnerStarts: Counter;
  assignmentsRefused: Counter;
  publishErrors: Counter;
  aggregationsSkipped: Counter;
  natsConnected: Gauge;
}

export interface AgentMetricSources {
  ledgers: () => Iterable<[string, LossCounters]>;
  spool: () => { bytes: number; batches: number };
  inFlight: () => number;
  deploymentStates: () => Iterable<string>;
  /** The clock headers carry, with its source. */
  clock: () => ClockEstimate | undefined;
  /** The kernel's discipline as last read (absent: not readable). */
  kernelClock: () => KernelClockStatus | undefined;
}

/** The agent's Prometheus metrics; gauges read live state at scrape time. */
export function createAgentMetrics(src: AgentMetricSources): AgentMetrics {
  const { Counter, Gauge } = promMetrics();
  const registry = createMetricsRegistry('tapfleet_agent_process_');
  const m: AgentMetrics = {
    registry,
    assignmentsRefused: new Counter({ name: 'tapfleet_agent_assignment_sets_refused_total', help: 'Assignment sets refused: not JSON, schema, signature, another host, or older than the last accepted (replay)', registers: [registry] }),
    runnerStarts: new Counter({ name: 'tapfleet_agent_runner_starts_total', help: 'Runner processes started (first starts and restarts)', registers: [registry] }),
    publishErrors: new Counter({ name: 'tapfleet_agent_publish_errors_total', help: 'Batch publishes that failed and went to the spool', registers: [registry] }),
    aggregationsSkipped: new Counter({ name: 'tapfleet_agent_aggregation_snapshots_skipped_total', help: 'Map snapshots not published (NATS away); the next one supersedes them', registers: [registry] }),
    natsConnected: new Gauge({ name: 'tapfleet_agent_nats_connected', help: '1 while connected to NATS', registers: [registry] }),
  };
  new Gauge({
    name: 'tapfleet_agent_deployment_events',
    help: 'Cumulative events per deployment by pipeline stage (this boot): produced by the kernel, dropped by the ring buffer, received, malformed, spooled, dropped from the spool, published',
    labelNames: ['deployment', 'stage'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [deployment, loss] of src.ledgers()) for (const [stage, v] of Object.entries(loss)) this.set({ deployment, stage }, v);
    },
  });
  new Gauge({ name: 'tapfleet_agent_spool_bytes', help: 'Bytes in the disk spool', registers: [registry], collect() { this.set(src.spool().bytes); } });
  new Gauge({ name: 'tapfleet_agent_spool_batches', help: 'Batches in the disk spool', registers: [registry], collect() { this.set(src.spool().batches); } });
  new Gauge({ name: 'tapfleet_agent_publish_in_flight', help: 'Batches published and not yet acknowledged', registers: [registry], collect() { this.set(src.inFlight()); } });
  new Gauge({
    name: 'tapfleet_agent_deployments',
    help: 'Deployments on this host by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const s of src.deploymentStates()) counts.set(s, (counts.get(s) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({ name: 'tapfleet_agent_clock_offset_ns', help: 'This host minus the reference clock', registers: [registry], collect() { const c = src.clock(); if (c) this.set(c.offsetNs); } });
  new Gauge({ name: 'tapfleet_agent_clock_uncertainty_ns', help: 'The offset is right within +/- this: half the RTT of the best clock sample, or the kernel\'s estimated error (source ntp)', registers: [registry], collect() { const c = src.clock(); if (c) this.set(c.uncertaintyNs); } });
  new Gauge({
    name: 'tapfleet_agent_clock_source',
    help: 'Which bound the clock offset rests on: 1 for the source in use (ntp: the kernel\'s disciplined clock; request-reply: the time service exchange)',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      this.reset();
      const used = src.clock()?.source;
      if (used) for (const source of ClockSource.options) this.set({ source }, source === used ? 1 : 0);
    },
  });
  new Gauge({ name: 'tapfleet_agent_clock_kernel_synchronised', help: '1 while adjtimex reports the clock synchronised (not TIME_ERROR, STA_UNSYNC clear)', registers: [registry], collect() { const k = src.kernelClock(); if (k) this.set(k.synchronised ? 1 : 0); } });
  new Gauge({ name: 'tapfleet_agent_clock_kernel_esterror_ns', help: 'The kernel\'s estimated clock error (adjtimex esterror)', registers: [registry], collect() { const k = src.kernelClock(); if (k) this.set(k.esterrorUs * 1000); } });
  return m;
}
