import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import { createMetricsRegistry } from './default-metrics.js';

const require = createRequire(import.meta.url);

/** Metric name -> type, from a registry's Prometheus text. */
async function families(r: Registry): Promise<Map<string, string>> {
  const text = await r.metrics();
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

test('the default metrics are prom-client\'s own set, same names and types, without its OpenTelemetry-loading CPU metric', async () => {
  const ours = createMetricsRegistry('t_ours_');
  const { Registry } = require('prom-client') as typeof import('prom-client');
  const reference = new Registry();
  (require('prom-client') as typeof import('prom-client')).collectDefaultMetrics({ register: reference, prefix: 't_ours_' });
  assert.deepEqual([...(await families(ours))].sort(), [...(await families(reference))].sort());
  ours.clear();
  reference.clear();
});

test('process CPU counters count this process\'s CPU time: user + system = total, and they grow with work', async () => {
  const r = createMetricsRegistry('t_cpu_');
  const read = async () => {
    const text = await r.metrics();
    const v = (n: string) => Number(new RegExp(`^t_cpu_${n} (\\S+)$`, 'm').exec(text)?.[1]);
    return { user: v('process_cpu_user_seconds_total'), system: v('process_cpu_system_seconds_total'), total: v('process_cpu_seconds_total') };
  };
  const a = await read();
  const until = process.cpuUsage().user + 50_000;
  while (process.cpuUsage().user < until); // 50 ms of user CPU
  const b = await read();
  for (const x of [a, b]) assert.ok(Math.abs(x.user + x.system - x.total) < 1e-6, JSON.stringify(x));
  assert.ok(b.user - a.user >= 0.05, `user CPU grew by ${b.user - a.user} s`);
  assert.ok(b.total > a.total);
  r.clear();
});
