import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createClickHouse, PROJECT_ROOT } from '@tapfleet/runtime';
import { utcDay } from '@tapfleet/schemas';
import { eventually, FleetStack } from '../fleet/fleet-harness.js';
import { DEP, fixtureTokens, HOSTILE_KEY, insertFixture, MINUTE, RISK_BOUND, spanRows, T0, type FixtureTokens } from './query-fixture.js';

const PORT = 40120;
const BASE = `http://127.0.0.1:${PORT}`;
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'query');
const ms = (ns: bigint) => String(ns / 1_000_000n);

/** Debian's chromium, driven by playwright-core (which downloads no browser of its own). */
const CHROMIUM = '/usr/bin/chromium';

describe('query web page in a real browser (chromium via playwright-core) against known history', () => {
  const stack = new FleetStack(40100, 40110);
  let tokens: FixtureTokens;
  let browser: Browser;
  let page: Page;

  /** Opens a view and waits until it has rendered (the page marks <main data-state="ready">). */
  const open = async (hash: string) => {
    await page.goto(`${BASE}/${hash}`);
    await page.waitForSelector('main[data-state="ready"]', { timeout: 20_000 });
  };
  const texts = (selector: string) => page.locator(selector).allTextContents();
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await stack.up(['nats', 'clickhouse', 'redis']);
    stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: 40121, fetchWaitMs: 200 } }, 'ingest');
    await eventually('ingest /healthz (migrations applied)', async () => (await fetch('http://127.0.0.1:40121/healthz')).ok, 60_000);
    await insertFixture(stack.config);
    tokens = await fixtureTokens(stack.config);
    stack.spawnTapfleet(['query-server'], { query: { host: '127.0.0.1', port: PORT, url: BASE } }, 'query-server');
    await eventually('query-server /healthz', async () => (await fetch(`${BASE}/healthz`)).ok, 30_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    // Page-side code as text: this package compiles without the DOM library.
    await context.addInitScript(`localStorage.setItem('tapfleet-token', ${JSON.stringify(tokens.viewer)})`);
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await stack.cleanup();
  });

  test('waterfall: the spans with hop names, durations, each cross-host hop\'s error bound drawn and listed, rank in its minute, events', async () => {
    await open(`#/txn?key=o-97&deployment=${DEP}`);
    assert.deepEqual(await texts('[data-testid=spans] tbody td:first-child'), ['order', 'risk', 'venue', 'book']);
    const risk = page.locator('[data-testid=spans] tr[data-span=risk] td');
    assert.deepEqual(await risk.allTextContents(), ['risk', 'hop', 'gw → risk', '+0ns', '97.0us', `±${(RISK_BOUND / 1000).toFixed(1)}us`, 'p97 of 100']);
    assert.equal(await page.locator('[data-testid=spans] tr[data-span=book] td.bound').textContent(), '0');
    // The bound is drawn on the chart (SVG: its label is text), once per cross-host hop, not on the one-host hop.
    const svgText = await texts('[data-testid=waterfall] svg text');
    assert.ok(svgText.includes('±310.0us') && svgText.includes('±250.0us'), svgText.join('|'));
    assert.ok(svgText.some((t) => t.includes('risk  gw → risk')), svgText.join('|'));
    const size = await page.locator('[data-testid=waterfall] svg').boundingBox();
    assert.ok(size && size.width > 1000 && size.height > 200, `the chart is drawn at its size: ${JSON.stringify(size)}`);
    assert.equal((await texts('[data-testid=events] tbody tr')).length, 5);
    assert.deepEqual(await texts('[data-testid=events] tbody td:first-child'), ['gateway_out', 'risk_in', 'risk_out', 'venue_in', 'book_out']);
    await shot('waterfall');
  });

  test('hop latency: the hop table, the chosen hop\'s log2 histogram and latency heatmap over time', async () => {
    await open(`#/hops?deployment=${DEP}&from=${ms(T0)}&to=${ms(T0 + 10n * MINUTE)}&hop=risk`);
    assert.deepEqual(await texts('[data-testid=hops] tbody tr td:first-child'), ['book', 'risk', 'venue']);
    assert.deepEqual(await page.locator('[data-testid=hops] tr[data-hop=risk] td').allTextContents(), ['risk', '110', '54.0us', '96.0us', '180.0us', '200.0us', '200.0us', '±310.0us']);
    assert.match((await page.locator('[data-testid=chosen-hop]').textContent()) ?? '', /^risk:/);
    const bars = await page.evaluate<{ counts: number[]; buckets: string[]; minutes: string[]; cells: number }>(`(() => {
      const hist = echarts.getInstanceByDom(document.querySelector('[data-testid=histogram]')).getOption();
      const heat = echarts.getInstanceByDom(document.querySelector('[data-testid=heatmap]')).getOption();
      return { counts: hist.series[0].data, buckets: hist.xAxis[0].data, minutes: heat.xAxis[0].data, cells: heat.series[0].data.length };
    })()`);
    assert.equal(bars.counts.reduce((s, c) => s + c, 0), 110);
    assert.equal(bars.buckets[0], '512ns-1.02us');
    assert.deepEqual(bars.minutes, ['10:00', '10:01', '10:02', '10:03', '10:04', '10:05']);
    assert.ok(bars.cells >= 9, `heatmap cells: ${bars.cells}`);
    // Histogram counts are drawn as text on the bars.
    assert.ok((await texts('[data-testid=histogram] svg text')).includes('38'));
    for (const id of ['histogram', 'heatmap']) assert.ok(((await page.locator(`[data-testid=${id}] svg`).boundingBox())?.width ?? 0) > 300, `${id} drawn at its size`);
    await shot('hops');
  });

  test('slowest-N table links to each transaction\'s waterfall', async () => {
    await open(`#/slowest?deployment=${DEP}&from=${ms(T0)}&to=${ms(T0 + MINUTE)}&n=5`);
    assert.deepEqual(await texts('[data-testid=slowest] tbody td:nth-child(2)'), ['o-100', 'o-99', 'o-98', 'o-97', 'o-96']);
    assert.deepEqual(await page.locator('[data-testid=slowest] tbody tr').first().locator('td').allTextContents(), ['1', 'o-100', '10:00:49.500000', '159.0us', '±560.0us', 'risk 100.0us · venue 51.0us · book 2.00us']);
    assert.equal(await page.locator('#controls input[name=hop]').inputValue(), '', 'the hops view\'s hop filter is not carried over');
    await shot('slowest');
    await page.locator('[data-testid=slowest] a', { hasText: 'o-99' }).click();
    await page.waitForFunction(`document.querySelector('main[data-state=ready] h2')?.textContent === 'Transaction o-99'`);
    assert.equal(await page.locator('[data-testid=spans] tr[data-span=risk] td:nth-child(5)').textContent(), '99.0us');
  });

  test('compare two windows hop by hop', async () => {
    await open(`#/compare?deployment=${DEP}&aFrom=${ms(T0)}&aTo=${ms(T0 + MINUTE)}&bFrom=${ms(T0 + 5n * MINUTE)}&bTo=${ms(T0 + 6n * MINUTE)}`);
    assert.deepEqual(await page.locator('[data-testid=compare] tr[data-hop=risk] td').allTextContents(), ['risk', '100', '51.0us', '100.0us', '10', '120.0us', '200.0us', '+69.0us', '+100.0us']);
    assert.deepEqual(await texts('[data-testid=compare] tbody td:first-child'), ['book', 'risk', 'venue']);
    await shot('compare');
  });

  test('a hostile key is shown as text, searched exactly; an API error is shown, not swallowed', async () => {
    await open(`#/txn?${new URLSearchParams({ key: HOSTILE_KEY })}`);
    assert.equal(await page.locator('main h2').first().textContent(), `Transaction ${HOSTILE_KEY}`);
    await open(`#/hops?deployment=${DEP}&from=${ms(T0)}&to=${ms(T0 + 48n * 60n * MINUTE)}`);
    assert.match((await page.locator('[data-testid=error]').textContent()) ?? '', /to: window longer than 24 h/);
  });

  test('live refresh: a running deployment\'s new spans appear without reloading', async () => {
    const dep = 'd-querylive1';
    await open(`#/hops?deployment=${dep}&last=5m&live=1`);
    assert.ok(await page.locator('[data-testid=empty]').isVisible());
    const now = BigInt(Date.now()) * 1_000_000n;
    const ch = createClickHouse(stack.config);
    try {
      const rows = [0, 1, 2].flatMap((i) => spanRows({ key: `live-${i}`, start: now - BigInt(i) * 1_000_000_000n, risk: 5000, venue: 6000, book: 7000 }).map((r) => ({ ...r, deployment: dep, date: utcDay(now - BigInt(i) * 1_000_000_000n) })));
      await ch.insert({ table: 'txn_spans', values: rows, format: 'JSONEachRow' });
    } finally {
      await ch.close();
    }
    await page.waitForSelector('[data-testid=hops] tr[data-hop=risk]', { timeout: 20_000 });
    assert.deepEqual(await page.locator('[data-testid=hops] tr[data-hop=risk] td').allTextContents(), ['risk', '3', '5.00us', '5.00us', '5.00us', '5.00us', '5.00us', '±310.0us']);
    await shot('live');
  });
});
