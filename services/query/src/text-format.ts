import { terminalWord, textTable } from '@tapfleet/runtime';
import type { CompareResponse, LatencyStats, LatencySummary, RankResponse, SlowestResponse, TxnView } from '@tapfleet/schemas';
import { clockText, durationText } from './format.js';

// The number formats the web page shares live in format.ts (it loads them as /format.js: no imports there).
export { clockText, durationText };

/** Plain aligned columns, every cell escaped for the terminal (runtime's textTable). */
export const table = textTable;

const BAR_WIDTH = 40;

/**
 * A transaction as a text waterfall: one line per span, a bar placed on the transaction's
 * time axis, and for a hop between hosts its clock error bound (`±`), never hidden.
 */
export function waterfallText(t: TxnView): string[] {
  const start = BigInt(t.startNs);
  const total = Number(BigInt(t.endNs) - start) || 1;
  // The key was read out of a traced process: a newline in it must not print a line of its own.
  const lines = [`transaction ${terminalWord(t.txn)}  deployment ${t.deployment}  trace ${t.traceId || '-'}  ${durationText(t.durationNs)}  hosts ${t.hosts.join(', ')}`];
  const rows = t.spans.map((s) => {
    const from = Math.round((Number(BigInt(s.startNs) - start) / total) * BAR_WIDTH);
    const width = Math.max(1, Math.round((Math.max(0, s.durationNs) / total) * BAR_WIDTH));
    const bar = `${' '.repeat(Math.min(from, BAR_WIDTH))}${'#'.repeat(Math.min(width, BAR_WIDTH + 1 - Math.min(from, BAR_WIDTH)))}`.padEnd(BAR_WIDTH + 1);
    const where = s.fromHost && s.toHost && s.fromHost !== s.toHost ? `${s.fromHost} -> ${s.toHost}` : s.host;
    const bound = s.errorBoundNs ? `±${durationText(s.errorBoundNs)}` : '';
    return [`${s.kind === 'txn' ? '' : '  '}${s.name}`, `|${bar}|`, `+${durationText(Number(BigInt(s.startNs) - start))}`, durationText(s.durationNs), bound, where];
  });
  lines.push(...table(['SPAN', 'TIMELINE', 'AT', 'DURATION', 'BOUND', 'HOST'], rows));
  if (t.events.length) {
    lines.push('', ...table(['EVENT', 'HOST', 'CORRECTED (UTC)', 'CLOCK OFFSET', 'FIELDS'], t.events.map((e) => [
      e.event, e.host, clockText(BigInt(e.correctedNs)), `${durationText(e.clockOffsetNs)} ±${durationText(e.clockUncertaintyNs)}`,
      Object.entries(e.fields).map(([k, v]) => `${k}=${v}`).join(' '),
    ])));
  }
  return lines;
}

const summaryCells = (s: LatencySummary) => [String(s.count), durationText(s.p50), durationText(s.p90), durationText(s.p99), durationText(s.p999), durationText(s.max)];

export function hopsText(hops: LatencyStats[]): string[] {
  if (!hops.length) return ['no spans in this window'];
  const lines = table(['HOP', 'COUNT', 'P50', 'P90', 'P99', 'P99.9', 'MAX', 'BOUND'], hops.map((h) => [h.name, ...summaryCells(h), h.errorBoundMaxNs ? `±${durationText(h.errorBoundMaxNs)}` : '0']));
  for (const h of hops) {
    const peak = Math.max(...h.histogram.map((b) => b.count), 1);
    lines.push('', `${h.name}:`);
    for (const b of h.histogram) {
      const range = b.bucket < 0 ? '<= 0' : `[${durationText(2 ** b.bucket)}, ${durationText(2 ** (b.bucket + 1))})`;
      lines.push(`  ${range.padEnd(22)} ${String(b.count).padStart(9)} |${'@'.repeat(Math.max(1, Math.round((b.count / peak) * 40))).padEnd(40)}|`);
    }
  }
  return lines;
}

export function slowestText(r: SlowestResponse): string[] {
  if (!r.rows.length) return ['no transactions in this window'];
  return table(['TXN', 'START (UTC)', 'DURATION', 'BOUND', 'HOPS'], r.rows.map((row) => [
    row.txn, clockText(BigInt(row.startNs)), durationText(row.durationNs), row.errorBoundNs ? `±${durationText(row.errorBoundNs)}` : '0',
    row.hops.map((h) => `${h.name}=${durationText(h.durationNs)}`).join(' '),
  ]));
}

const delta = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '-' : `${b >= a ? '+' : ''}${durationText(b - a)}`);

export function compareText(r: CompareResponse): string[] {
  const cell = (s: LatencySummary | null, k: keyof LatencySummary) => (s ? (k === 'count' ? String(s.count) : durationText(s[k])) : '-');
  return table(['HOP', 'A COUNT', 'A P50', 'A P99', 'B COUNT', 'B P50', 'B P99', 'P50 CHANGE', 'P99 CHANGE'], r.hops.map((h) => [
    h.name, cell(h.a, 'count'), cell(h.a, 'p50'), cell(h.a, 'p99'), cell(h.b, 'count'), cell(h.b, 'p50'), cell(h.b, 'p99'), delta(h.a?.p50, h.b?.p50), delta(h.a?.p99, h.b?.p99),
  ]));
}

export function rankText(r: RankResponse): string[] {
  if (!r.hops.length) return [`no hop spans stored for ${r.key}`];
  return table(['HOP', 'DURATION', 'BOUND', 'MINUTE (UTC)', 'RANK IN MINUTE'], r.hops.map((h) => [
    h.name, durationText(h.durationNs), h.errorBoundNs ? `±${durationText(h.errorBoundNs)}` : '0', new Date(h.minuteMs).toISOString().slice(11, 16),
    `p${Math.floor(h.percentile)} of ${h.inMinute}`,
  ]));
}
