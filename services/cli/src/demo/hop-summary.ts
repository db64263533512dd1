import { HopsResponse, type LatencyStats } from '@tapfleet/schemas';
import { durationText, type QueryClient } from '@tapfleet/query';

/** The demo's hops in path order (test/demo/trading.tap). */
export const DEMO_HOPS = ['gateway', 'to_risk', 'risk', 'to_matcher', 'matcher', 'ack_to_risk', 'ack_to_gateway'] as const;

/** Hop statistics of the demo deployment over [fromMs, toMs), from the query service: what the web page shows. */
export async function demoHops(query: QueryClient, deployment: string, fromMs: number, toMs: number): Promise<Map<string, LatencyStats>> {
  const r = await query.get('/v1/hops', { deployment, from: String(fromMs), to: String(toMs) }, HopsResponse);
  return new Map(r.hops.map((h) => [h.name, h]));
}

/** One terminal line: each hop's p50/p99 in path order, e.g. `gateway 61us/190us  to_risk 48us/1.2ms ...`. */
export function hopLine(hops: Map<string, LatencyStats>): string {
  return DEMO_HOPS.flatMap((name) => {
    const h = hops.get(name);
    return h ? [`${name} ${durationText(h.p50)}/${durationText(h.p99)}`] : [];
  }).join('  ');
}

/** The fewest spans any demo hop has (0 while one has none): how many orders are fully traced, at most. */
export function tracedOrders(hops: Map<string, LatencyStats>): number {
  return Math.min(...DEMO_HOPS.map((n) => hops.get(n)?.count ?? 0));
}
