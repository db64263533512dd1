// One function per view: fetch through `api`, build DOM (text only, never HTML from data), and queue its
// charts on `draw`: ECharts sizes a chart from its element, so charts are drawn once the view is in the page.
import { clockText, durationText } from '/format.js';
import { chart, compareOption, heatmapOption, histogramOption, waterfallOption } from './charts.js';

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const bound = (ns) => (ns ? `±${durationText(ns)}` : '0');
const num = (text) => el('td', { class: 'num' }, text);

function table(headers, rows, attrs = {}) {
  return el('table', attrs,
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { class: /COUNT|P\d|MAX|DURATION|AT$/.test(h) ? 'num' : '' }, h)))),
    el('tbody', {}, rows));
}

const txnLink = (deployment, key) => el('a', { href: `#/txn?${new URLSearchParams({ key, deployment })}` }, key);

export async function txnView(root, api, p, draw) {
  if (!p.key) return root.append(el('p', { class: 'meta' }, 'Enter a transaction key.'));
  // With the deployment known, the ranks are asked for alongside the transaction (one wait, not two).
  const rankOf = (deployment) => api('/v1/rank', { key: p.key, deployment }).catch(() => undefined);
  const [r, early] = await Promise.all([api('/v1/txn', { key: p.key, deployment: p.deployment }), p.deployment ? rankOf(p.deployment) : undefined]);
  if (!r.transactions.length) return root.append(el('p', { class: 'meta', 'data-testid': 'empty' }, `No transaction ${p.key}${p.deployment ? ` in ${p.deployment}` : ''}.`));
  for (const [i, t] of r.transactions.entries()) {
    // /v1/rank ranks the newest trace of the key (the first here); older ones with the same key show none.
    const rank = i > 0 || !t.spans.some((s) => s.kind === 'hop') ? undefined : early && t.deployment === p.deployment ? early : await rankOf(t.deployment);
    const box = el('section', { 'data-testid': 'transaction' },
      el('h2', {}, `Transaction ${t.txn}`),
      el('p', { class: 'meta' }, `${t.deployment} · trace ${t.traceId || '-'} · ${durationText(t.durationNs)} · hosts ${t.hosts.join(', ')}`));
    const chartBox = el('div', { class: 'chart', 'data-testid': 'waterfall' });
    chartBox.style.height = `${Math.max(160, 48 * t.spans.length + 60)}px`;
    box.append(chartBox);
    const start = BigInt(t.startNs);
    box.append(table(['SPAN', 'KIND', 'HOSTS', 'AT', 'DURATION', 'BOUND', 'RANK IN MINUTE'], t.spans.map((s) => {
      const rk = rank?.hops.find((h) => h.name === s.name);
      return el('tr', { 'data-span': s.name },
        el('td', {}, s.name), el('td', {}, s.kind), el('td', {}, s.fromHost && s.toHost && s.fromHost !== s.toHost ? `${s.fromHost} → ${s.toHost}` : s.host),
        num(`+${durationText(Number(BigInt(s.startNs) - start))}`), num(durationText(s.durationNs)), el('td', { class: 'bound' }, bound(s.errorBoundNs)),
        el('td', {}, rk ? `p${Math.floor(rk.percentile)} of ${rk.inMinute}` : ''));
    }), { 'data-testid': 'spans' }));
    if (t.events.length) {
      box.append(el('h2', {}, 'Events'), table(['EVENT', 'HOST', 'CORRECTED (UTC)', 'CLOCK OFFSET', 'FIELDS'], t.events.map((e) => el('tr', {},
        el('td', {}, e.event), el('td', {}, e.host), el('td', {}, clockText(BigInt(e.correctedNs))), el('td', {}, `${durationText(e.clockOffsetNs)} ±${durationText(e.clockUncertaintyNs)}`),
        el('td', {}, Object.entries(e.fields).map(([k, v]) => `${k}=${v}`).join(' ')))), { 'data-testid': 'events' }));
    }
    root.append(box);
    draw.push(() => chart(chartBox).setOption(waterfallOption(t)));
  }
}

function statsRow(deployment, s, link) {
  return el('tr', { 'data-hop': s.name }, el('td', {}, link ? el('a', { href: link }, s.name) : s.name), num(String(s.count)),
    num(durationText(s.p50)), num(durationText(s.p90)), num(durationText(s.p99)), num(durationText(s.p999)), num(durationText(s.max)), el('td', { class: 'bound' }, bound(s.errorBoundMaxNs)));
}

export async function hopsView(root, api, p, draw, hashFor) {
  if (!p.deployment) return root.append(el('p', { class: 'meta' }, 'Enter a deployment.'));
  const r = await api('/v1/hops', { deployment: p.deployment, from: p.from, to: p.to });
  if (!r.hops.length) return root.append(el('p', { class: 'meta', 'data-testid': 'empty' }, 'No hop spans in this window.'));
  root.append(table(['HOP', 'COUNT', 'P50', 'P90', 'P99', 'P99.9', 'MAX', 'BOUND'], r.hops.map((h) => statsRow(p.deployment, h, hashFor({ hop: h.name }))), { 'data-testid': 'hops' }));
  const chosen = r.hops.find((h) => h.name === p.hop) ?? r.hops[0];
  const hist = el('div', { class: 'chart small', 'data-testid': 'histogram' });
  const heat = el('div', { class: 'chart', 'data-testid': 'heatmap' });
  root.append(el('h2', { 'data-testid': 'chosen-hop' }, `${chosen.name}: latency histogram (log2 buckets) and heatmap over time`), el('div', { class: 'row' }, el('div', {}, hist), el('div', {}, heat)));
  draw.push(() => chart(hist).setOption(histogramOption(chosen)), () => chart(heat).setOption(heatmapOption(chosen)));
}

export async function slowestView(root, api, p) {
  if (!p.deployment) return root.append(el('p', { class: 'meta' }, 'Enter a deployment.'));
  const r = await api('/v1/slowest', { deployment: p.deployment, from: p.from, to: p.to, n: p.n || '20', hop: p.hop });
  if (!r.rows.length) return root.append(el('p', { class: 'meta', 'data-testid': 'empty' }, 'No transactions in this window.'));
  root.append(el('p', { class: 'meta' }, `slowest by ${r.by}`), table(['#', 'TXN', 'START (UTC)', 'DURATION', 'BOUND', 'HOPS'], r.rows.map((row, i) => el('tr', {},
    num(String(i + 1)), el('td', {}, txnLink(row.deployment, row.txn)), el('td', {}, clockText(BigInt(row.startNs))), num(durationText(row.durationNs)),
    el('td', { class: 'bound' }, bound(row.errorBoundNs)), el('td', {}, row.hops.map((h) => `${h.name} ${durationText(h.durationNs)}`).join(' · ')))), { 'data-testid': 'slowest' }));
}

export async function compareView(root, api, p, draw) {
  if (!p.deployment || !p.aFrom || !p.aTo || !p.bFrom || !p.bTo) return root.append(el('p', { class: 'meta' }, 'Enter a deployment and both windows.'));
  const r = await api('/v1/compare', { deployment: p.deployment, aFrom: p.aFrom, aTo: p.aTo, bFrom: p.bFrom, bTo: p.bTo, hop: p.hop });
  const cell = (s, k) => num(s ? (k === 'count' ? String(s.count) : durationText(s[k])) : '-');
  const change = (a, b) => num(a && b ? `${b >= a ? '+' : ''}${durationText(b - a)}` : '-');
  root.append(table(['HOP', 'A COUNT', 'A P50', 'A P99', 'B COUNT', 'B P50', 'B P99', 'P50 CHANGE', 'P99 CHANGE'], r.hops.map((h) => el('tr', { 'data-hop': h.name },
    el('td', {}, h.name), cell(h.a, 'count'), cell(h.a, 'p50'), cell(h.a, 'p99'), cell(h.b, 'count'), cell(h.b, 'p50'), cell(h.b, 'p99'), change(h.a?.p50, h.b?.p50), change(h.a?.p99, h.b?.p99))), { 'data-testid': 'compare' }));
  const box = el('div', { class: 'chart small', 'data-testid': 'compare-chart' });
  root.append(box);
  draw.push(() => chart(box).setOption(compareOption(r)));
}
