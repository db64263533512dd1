/**
 * A map as text, the way bpftrace prints it (histograms as bars): `tapfleet run` prints one host's
 * maps with it and `tapfleet aggs` the fleet's merged maps, so both read the same.
 */
import { histBucketLow, type AggEntry } from './aggregation-entry.js';
import type { BundleManifest, StackKey } from './bundle-manifest.js';

/** A symbolised stack prints as bpftrace prints it: a newline, then each frame indented on its own line; an empty stack as nothing. */
const stackText = (frames: string) => (frames ? `\n${frames.split('\n').map((f) => `    ${f}\n`).join('')}` : '');

const keyText = (key: (bigint | string)[], stackKeys: StackKey[] = []) =>
  key.length ? `[${key.map((k, i) => (stackKeys.some((s) => s.index === i) ? stackText(String(k)) : typeof k === 'string' ? k : k.toString())).join(', ')}]` : '';

function humanBound(v: bigint): string {
  const units: [bigint, string][] = [[1n << 40n, 'T'], [1n << 30n, 'G'], [1n << 20n, 'M'], [1n << 10n, 'K']];
  for (const [size, unit] of units) if (v >= size && v % size === 0n) return `${v / size}${unit}`;
  return v.toString();
}

/** bpftrace-style bars: one row per non-empty bucket range, its columns as wide as bpftrace's (16 and 8). */
function bars(rows: { label: string; count: bigint }[], div = 1n): string[] {
  const max = rows.reduce((m, r) => (r.count > m ? r.count : m), 0n);
  const width = 52;
  // print(@h, top, div) shows the counts divided but draws the bars from the counts, as bpftrace does.
  return rows.map((r) => {
    const n = max === 0n ? 0 : Number((r.count * BigInt(width)) / max);
    return `${r.label.padEnd(16)}${(r.count / div).toString().padStart(8)} |${'@'.repeat(n).padEnd(width)}|`;
  });
}

function histRows(e: AggEntry, lhist?: { lo: number; hi: number; step: number }): string[] {
  const b = e.buckets ?? [];
  const first = b.findIndex((x) => x > 0n);
  if (first === -1) return [];
  let last = b.length - 1;
  while (last > first && b[last] === 0n) last--;
  const rows = [];
  for (let i = first; i <= last; i++) {
    let label: string;
    if (lhist) {
      if (i === 0) label = `(..., ${lhist.lo})`;
      else if (i === b.length - 1) label = `[${lhist.hi}, ...)`;
      else label = `[${lhist.lo + (i - 1) * lhist.step}, ${lhist.lo + i * lhist.step})`;
    } else if (i === 0) label = '(..., 0)';
    else if (i === 1) label = '[0]';
    else if (i === 2) label = '[1]';
    else label = `[${humanBound(histBucketLow(i))}, ${humanBound(histBucketLow(i + 1))})`;
    rows.push({ label, count: b[i]! });
  }
  return bars(rows, e.div);
}

type MapHead = Pick<BundleManifest['maps'][number], 'name' | 'kind' | 'lhist'> & Partial<Pick<BundleManifest['maps'][number], 'maxEntries'>> & { stackKeys?: StackKey[] };

/** Text for one map, sorted by value like bpftrace prints it (avg() and stats() by the average, string values by key). */
export function mapText(layout: MapHead, entries: AggEntry[]): string[] {
  const keyOf = (key: (bigint | string)[]) => keyText(key, layout.stackKeys);
  const out: string[] = [];
  const byValue = (a: AggEntry, b: AggEntry) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);
  const byText = (a: AggEntry, b: AggEntry) => keyText(a.key).localeCompare(keyText(b.key));
  const byShown = (a: AggEntry, b: AggEntry) => { const x = shownValue(layout.kind, a), y = shownValue(layout.kind, b); return x < y ? -1 : x > y ? 1 : 0; };
  const sorted = [...entries].sort(entries.some((e) => e.text !== undefined) ? byText : layout.kind === 'stats' || layout.kind === 'avg' ? byShown : byValue);
  // A full value map refused every new key since it filled (bpf_map_update_elem: E2BIG): say so.
  if (layout.kind === 'value' && layout.maxEntries !== undefined && layout.maxEntries > 1 && entries.length >= layout.maxEntries)
    out.push(`warning: ${layout.name} is full (${layout.maxEntries} keys): new keys were not stored; delete() keys once used`);
  for (const e of sorted) {
    if (e.text !== undefined) out.push(`${layout.name}${keyOf(e.key)}: ${e.text}`);
    else if (layout.kind === 'hist' || layout.kind === 'lhist') {
      // bpftrace's header line has a space after the colon, as a value's does.
      out.push(`${layout.name}${keyOf(e.key)}: `, ...histRows(e, layout.lhist), '');
    } else if (layout.kind === 'avg') {
      out.push(`${layout.name}${keyOf(e.key)}: ${e.count ? e.value / e.count : 0n}`);
    } else if (layout.kind === 'stats') {
      out.push(`${layout.name}${keyOf(e.key)}: count ${e.count ?? 0n}, average ${e.count ? e.value / e.count : 0n}, total ${e.value}`);
    } else out.push(`${layout.name}${keyOf(e.key)}: ${e.value}`);
  }
  return out;
}

/** The value an entry prints as (an average as sum / count), which orders a print. */
const shownValue = (kind: MapHead['kind'], e: AggEntry) => (kind === 'avg' || kind === 'stats' ? (e.count ? e.value / e.count : 0n) : e.value);

/**
 * What `print(@m, top, div)` shows, as bpftrace 0.17's print() does: only the last `top` entries
 * in print order (the largest values; histograms the most samples; string values the last keys),
 * and values divided by `div`: integers, averages and hist() bucket counts, not lhist() buckets
 * (bpftrace leaves those whole) and not strings. Without either it is the map as it is.
 */
export function printedEntries(layout: Pick<MapHead, 'kind'>, entries: AggEntry[], o: { top?: number; div?: number } = {}): AggEntry[] {
  // bpftrace 0.17 ignores both on a stats() map (and warns; the compiler warns here too).
  if (layout.kind === 'stats') return entries;
  let out = entries;
  if (o.top !== undefined && o.top > 0 && out.length > o.top) {
    const byText = out.some((e) => e.text !== undefined);
    const ordered = [...out].sort((a, b) => {
      if (byText) return keyText(a.key).localeCompare(keyText(b.key));
      const x = shownValue(layout.kind, a), y = shownValue(layout.kind, b);
      return x < y ? -1 : x > y ? 1 : 0;
    });
    out = ordered.slice(-o.top);
  }
  const div = o.div;
  if (div !== undefined && div > 1 && layout.kind !== 'lhist') {
    const d = BigInt(div);
    out = out.map((e) => {
      if (e.text !== undefined) return e;
      if (layout.kind === 'hist') return { ...e, div: d };
      return layout.kind === 'avg' ? { ...e, value: shownValue('avg', e) / d, count: 1n } : { ...e, value: e.value / d };
    });
  }
  return out;
}
