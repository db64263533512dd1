// The page: hash routes (#/txn?key=..), one view at a time, the API called with the viewer's token.
import { compareView, el, hopsView, slowestView, txnView } from './views.js';

const VIEWS = { txn: txnView, hops: hopsView, slowest: slowestView, compare: compareView };
const LIVE_EVERY_MS = 5000;
const TOKEN_KEY = 'tapfleet-token';
const form = document.getElementById('controls');
const main = document.getElementById('view');
const tokenInput = document.getElementById('token');
let liveTimer;
let generation = 0;

/**
 * A link may carry the token in its fragment (`tapfleet demo` prints one): the fragment never
 * reaches a server; it is kept like a typed token and taken out of the address bar and history.
 */
function adoptLinkToken() {
  const [path, query] = location.hash.split('?');
  const params = new URLSearchParams(query ?? '');
  const token = params.get('token');
  if (!token) return;
  localStorage.setItem(TOKEN_KEY, token.trim());
  tokenInput.value = token.trim();
  params.delete('token');
  history.replaceState(null, '', `${location.pathname}${location.search}${path}${params.size ? `?${params}` : ''}`);
}

adoptLinkToken();
tokenInput.value = localStorage.getItem(TOKEN_KEY) ?? '';
tokenInput.addEventListener('change', () => {
  localStorage.setItem(TOKEN_KEY, tokenInput.value.trim());
  render();
});

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  return { view: VIEWS[path] ? path : 'txn', params: Object.fromEntries(new URLSearchParams(query ?? '')) };
}

/** A window given as `last=15m` is re-read on every refresh: live views slide with the clock. */
function resolvedWindow(p) {
  const m = /^(\d+)([smhd])$/.exec(p.last ?? '');
  if (!m) return p;
  const now = Date.now();
  return { ...p, from: String(now - Number(m[1]) * UNIT_MS[m[2]]), to: String(now) };
}

async function api(path, params) {
  const search = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== ''));
  const res = await fetch(`${path}?${search}`, { headers: { authorization: `Bearer ${localStorage.getItem(TOKEN_KEY) ?? ''}` } });
  const body = await res.json().catch(() => undefined);
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function fillForm(view, params) {
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === view);
  for (const label of form.querySelectorAll('label[data-for]')) label.hidden = !label.dataset.for.split(' ').includes(view);
  for (const input of form.elements) {
    if (!input.name) continue;
    if (input.type === 'checkbox') input.checked = params[input.name] === '1';
    else if (input.name in params) input.value = params[input.name];
    else if (input.name === 'last') input.value = params.from ? '' : input.value;
    // What this view's link does not say is not carried over from another view (a hop filter, say),
    // except the deployment one is looking at and the page size.
    else if (input.name !== 'deployment' && input.name !== 'n') input.value = '';
  }
}

function hashFor(view, params) {
  return `#/${view}?${new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== ''))}`;
}

async function render() {
  adoptLinkToken();
  const { view, params } = route();
  fillForm(view, params);
  const mine = ++generation;
  const next = el('div');
  const draw = [];
  main.dataset.state = 'loading';
  try {
    await VIEWS[view](next, api, resolvedWindow(params), draw, (extra) => hashFor(view, { ...params, ...extra }));
  } catch (e) {
    next.append(el('p', { class: 'error', 'data-testid': 'error' }, e.message));
  }
  if (mine !== generation) return; // a newer render (navigation or live refresh) superseded this one
  for (const old of main.querySelectorAll('[_echarts_instance_]')) echarts.getInstanceByDom(old)?.dispose();
  main.replaceChildren(next);
  for (const d of draw) d();
  main.dataset.state = 'ready';
  window.__tapfleetRenderedAt = performance.now();
  clearTimeout(liveTimer);
  if (params.live === '1') liveTimer = setTimeout(render, LIVE_EVERY_MS);
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const { view } = route();
  const params = {};
  for (const input of form.elements) {
    if (!input.name || input.closest('label')?.hidden) continue;
    if (input.type === 'checkbox') params[input.name] = input.checked ? '1' : '';
    else params[input.name] = input.value.trim();
  }
  if (params.last) {
    delete params.from;
    delete params.to;
  }
  location.hash = hashFor(view, params);
});
window.addEventListener('hashchange', render);
window.addEventListener('resize', () => {
  for (const node of main.querySelectorAll('[_echarts_instance_]')) echarts.getInstanceByDom(node)?.resize();
});
render();
