// ECharts options for the page's charts, rendered as SVG (text stays text: searchable, testable, crisp).
import { durationText } from '/format.js';

const HOST_COLOURS = ['#2f6fde', '#12a37f', '#e8890c', '#8c54d0', '#0ea5b7', '#c2410c'];
const BOUND = '#d6336c';

/** ECharts renders a tooltip formatter's string as HTML: names from the data are escaped first. */
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function chart(el) {
  // eslint-disable-next-line no-undef
  return echarts.init(el, null, { renderer: 'svg' });
}

/** A log2 bucket as the range it holds. */
export const bucketLabel = (b) => (b < 0 ? '<= 0' : `${durationText(2 ** b)}-${durationText(2 ** (b + 1))}`);

/**
 * The waterfall: one row per span on the transaction's time axis (us from its start), bars coloured
 * by the host the span is reported under; a cross-host hop carries its clock error bound as a
 * whisker around its end, labelled, because the end is only known to within that bound.
 */
export function waterfallOption(txn) {
  const start = BigInt(txn.startNs);
  const hosts = txn.hosts;
  const rows = txn.spans.map((s, i) => ({
    value: [i, Number(BigInt(s.startNs) - start) / 1000, Number(BigInt(s.endNs) - start) / 1000, s.errorBoundNs / 1000, Math.max(0, hosts.indexOf(s.host))],
    name: s.name, bound: s.errorBoundNs,
  }));
  // The axis holds every whisker: a bound wider than the hop itself is the honest picture, not something to crop.
  const lo = Math.min(0, ...rows.map((r) => r.value[2] - r.value[3]));
  const hi = Math.max(...rows.map((r) => r.value[2] + r.value[3]));
  const labels = txn.spans.map((s) => (s.kind === 'txn' ? `${s.name} (transaction)` : s.fromHost && s.toHost && s.fromHost !== s.toHost ? `${s.name}  ${s.fromHost} → ${s.toHost}` : `${s.name}  ${s.host}`));
  return {
    animation: false,
    grid: { left: 200, right: 110, top: 20, bottom: 40 },
    tooltip: { formatter: (p) => `${escapeHtml(p.name)}: ${durationText(Math.round((p.value[2] - p.value[1]) * 1000))}${p.data.bound ? ` ±${durationText(p.data.bound)}` : ''}` },
    xAxis: { type: 'value', name: 'us from start', nameLocation: 'middle', nameGap: 25, min: Math.floor(lo), max: Math.ceil(hi) },
    yAxis: { type: 'category', data: labels, inverse: true },
    series: [{
      type: 'custom',
      encode: { x: [1, 2], y: 0 },
      data: rows,
      renderItem(params, api) {
        const y = api.coord([0, api.value(0)])[1];
        const x0 = api.coord([api.value(1), api.value(0)])[0];
        const x1 = api.coord([api.value(2), api.value(0)])[0];
        const h = api.size([0, 1])[1] * 0.55;
        const children = [{ type: 'rect', shape: { x: Math.min(x0, x1), y: y - h / 2, width: Math.max(Math.abs(x1 - x0), 2), height: h }, style: { fill: HOST_COLOURS[api.value(4) % HOST_COLOURS.length] } }];
        const bound = api.value(3);
        if (bound > 0) {
          const lo = api.coord([api.value(2) - bound, api.value(0)])[0];
          const hi = api.coord([api.value(2) + bound, api.value(0)])[0];
          const line = (shape) => ({ type: 'line', shape, style: { stroke: BOUND, lineWidth: 2 } });
          children.push(line({ x1: lo, y1: y, x2: hi, y2: y }), line({ x1: lo, y1: y - h / 2, x2: lo, y2: y + h / 2 }), line({ x1: hi, y1: y - h / 2, x2: hi, y2: y + h / 2 }));
          children.push({ type: 'text', style: { text: `±${durationText(Math.round(bound * 1000))}`, x: hi + 4, y: y - 6, fill: BOUND, fontSize: 11 } });
        }
        return { type: 'group', children };
      },
    }],
  };
}

export function histogramOption(stats) {
  return {
    animation: false,
    grid: { left: 60, right: 20, top: 30, bottom: 70 },
    tooltip: {},
    xAxis: { type: 'category', data: stats.histogram.map((b) => bucketLabel(b.bucket)), axisLabel: { rotate: 35 } },
    yAxis: { type: 'value', name: 'count' },
    series: [{ type: 'bar', data: stats.histogram.map((b) => b.count), label: { show: true, position: 'top' }, itemStyle: { color: '#2f6fde' } }],
  };
}

/** Time x latency bucket, colour = count: where a hop's latency moved, minute by minute. */
export function heatmapOption(stats) {
  // Every minute of the span, quiet ones included, so the x axis is time and a gap shows as a gap.
  const seen = stats.heatmap.map((c) => c.minuteMs);
  const minutes = [];
  for (let m = Math.min(...seen); m <= Math.max(...seen) && minutes.length < 1440; m += 60_000) minutes.push(m);
  const buckets = [...new Set(stats.heatmap.map((c) => c.bucket))].sort((a, b) => a - b);
  const max = Math.max(1, ...stats.heatmap.map((c) => c.count));
  return {
    animation: false,
    grid: { left: 110, right: 20, top: 20, bottom: 80 },
    tooltip: { formatter: (p) => `${p.value[2]} span(s)` },
    xAxis: { type: 'category', data: minutes.map((m) => new Date(m).toISOString().slice(11, 16)), name: 'minute (UTC)', nameLocation: 'middle', nameGap: 28 },
    yAxis: { type: 'category', data: buckets.map(bucketLabel) },
    visualMap: { min: 0, max, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, inRange: { color: ['#eef3fd', '#2f6fde', '#0b2a66'] } },
    series: [{ type: 'heatmap', data: stats.heatmap.map((c) => [minutes.indexOf(c.minuteMs), buckets.indexOf(c.bucket), c.count]) }],
  };
}

export function compareOption(cmp) {
  const names = cmp.hops.map((h) => h.name);
  const us = (s, k) => (s ? s[k] / 1000 : null);
  const bar = (name, side, k, colour) => ({ name, type: 'bar', data: cmp.hops.map((h) => us(h[side], k)), itemStyle: { color: colour } });
  return {
    animation: false,
    legend: { top: 0 },
    grid: { left: 60, right: 20, top: 40, bottom: 30 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: names },
    yAxis: { type: 'value', name: 'us' },
    series: [bar('A p50', 'a', 'p50', '#9db8ef'), bar('B p50', 'b', 'p50', '#2f6fde'), bar('A p99', 'a', 'p99', '#f3b37a'), bar('B p99', 'b', 'p99', '#e8590c')],
  };
}
