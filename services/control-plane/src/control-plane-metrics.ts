import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createMetricsRegistry, promMetrics } from '@tapfleet/runtime';

export interface ControlPlaneMetrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  compileSeconds: Histogram<'cached'>;
  agentMessages: Counter<'kind'>;
  deadLettered: Counter<'kind'>;
  reportsRefused: Counter<'reason'>;
  corruptRecords: Counter<'store'>;
  liveHosts: Gauge;
  untrustedAssignmentSets: Counter;
  compilesRunning: Gauge;
  compileQueueDepth: Gauge;
  compileRejected: Counter;
  compileTimeouts: Counter;
}

export function createControlPlaneMetrics(liveHosts: () => Promise<number>): ControlPlaneMetrics {
  const { Counter, Gauge, Histogram } = promMetrics();
  const registry = createMetricsRegistry('tapfleet_control_plane_process_');
  return {
    registry,
    requests: new Counter({ name: 'tapfleet_control_plane_http_requests_total', help: 'API requests by route and status', labelNames: ['route', 'status'], registers: [registry] }),
    compileSeconds: new Histogram({ name: 'tapfleet_control_plane_compile_seconds', help: 'Bundle compiles (cached: answered by the compile cache)', labelNames: ['cached'], buckets: [0.005, 0.02, 0.1, 0.25, 0.5, 1, 2, 5], registers: [registry] }),
    agentMessages: new Counter({ name: 'tapfleet_control_plane_agent_messages_total', help: 'Agent messages processed by kind', labelNames: ['kind'], registers: [registry] }),
    reportsRefused: new Counter({ name: 'tapfleet_control_plane_agent_reports_refused_total', help: 'Well-formed agent reports not taken in (a host over a quota), by reason', labelNames: ['reason'], registers: [registry] }),
    deadLettered: new Counter({ name: 'tapfleet_control_plane_dead_lettered_total', help: 'Malformed agent messages sent to the dead-letter stream', labelNames: ['kind'], registers: [registry] }),
    untrustedAssignmentSets: new Counter({ name: 'tapfleet_control_plane_untrusted_assignment_sets_total', help: 'Assignment sets found in the bucket without this control plane\'s signature (rebuilt from the deployment records)', registers: [registry] }),
    corruptRecords: new Counter({ name: 'tapfleet_control_plane_corrupt_records_total', help: 'Stored records (Redis, assignments KV) read but unreadable, so skipped', labelNames: ['store'], registers: [registry] }),
    compilesRunning: new Gauge({ name: 'tapfleet_control_plane_compiles_running', help: 'Bundle builds (clang) running now', registers: [registry] }),
    compileQueueDepth: new Gauge({ name: 'tapfleet_control_plane_compile_queue_depth', help: 'Bundle builds waiting for a slot', registers: [registry] }),
    compileRejected: new Counter({ name: 'tapfleet_control_plane_compile_rejected_total', help: 'Deployments refused with 503 because the compile queue was full', registers: [registry] }),
    compileTimeouts: new Counter({ name: 'tapfleet_control_plane_compile_timeouts_total', help: 'Bundle builds stopped for running past compiler.clangTimeoutMs', registers: [registry] }),
    liveHosts: new Gauge({ name: 'tapfleet_control_plane_live_hosts', help: 'Hosts whose heartbeats are current', registers: [registry], async collect() { this.set(await liveHosts()); } }),
  };
}
