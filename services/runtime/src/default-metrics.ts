import type { Registry } from 'prom-client';
import { promMetrics } from './client-modules.js';

/**
 * The event loop lag histogram's sampling period. prom-client's default, 10 ms, is a timer that
 * wakes the process 100 times a second: alone ~0.5% of a core in an idle agent (issue 13's idle
 * goal is under 0.5% in all); at 100 ms lag is still measured, ten times less often.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * prom-client's default metrics, each required on its own, but process CPU time counted here:
 * prom-client's own CPU metric requires @opentelemetry/api (~30 modules, ~0.4 MB of every
 * process's heap; issue 13's agent budget) only to label exemplars, which tapfleet never enables.
 * Same names, help and values as prom-client's.
 */
const PROM_DEFAULTS = [
  'processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors', 'eventLoopLag',
  'processResources', 'processHandles', 'processRequests', 'heapSizeAndUsed', 'heapSpacesSizeAndUsed', 'version', 'gc',
] as const;

type DefaultMetric = (registry: Registry, config: { prefix: string; eventLoopMonitoringPrecision: number }) => void;

/** A metrics registry with the process's default metrics (CPU, RSS, event loop lag, GC, heap), prefixed. */
export function createMetricsRegistry(prefix: string): Registry {
  const { Registry, Counter, requireMetric } = promMetrics();
  const registry = new Registry();
  const config = { prefix, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS };
  for (const name of PROM_DEFAULTS) (requireMetric(name) as DefaultMetric)(registry, config);

  let last = process.cpuUsage();
  const counter = (name: string, help: string, collect?: () => void) => new Counter({ name: prefix + name, help, registers: [registry], ...(collect ? { collect } : {}) });
  // One collect sets all three, as prom-client's does: the three values come from one reading.
  const user = counter('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', () => {
    const now = process.cpuUsage();
    user.inc((now.user - last.user) / 1e6);
    system.inc((now.system - last.system) / 1e6);
    total.inc((now.user - last.user + now.system - last.system) / 1e6);
    last = now;
  });
  const system = counter('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.');
  const total = counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.');
  return registry;
}
