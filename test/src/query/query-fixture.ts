import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminTokenPath, createClickHouse, createRedis, TokenStore } from '@tapfleet/runtime';
import { txnSpanId, txnTraceId, utcDay, type TapfleetConfig, type TxnSpanRow } from '@tapfleet/schemas';

/**
 * Known history for the query service's tests: spans written to txn_spans as the assembler
 * would (its row schema, its ids), events to probe_events as ingest would. Every number a
 * test asserts follows from the constants here.
 */
export const DEP = 'd-queryfix01';
/** 2026-12-01T10:00:00Z in ns: window A is its first minute, window B the minute at +5 min. */
export const T0 = BigInt(Date.UTC(2026, 11, 1, 10, 0, 0)) * 1_000_000n;
export const MINUTE = 60_000_000_000n;
export const RISK_BOUND = 310_000;
export const VENUE_BOUND = 250_000;
/** The risk host's clock runs 3 ms ahead of the reference; its events are corrected by that. */
export const RISK_OFFSET = 3_000_000;
export const BUNDLE = 'b-queryfixture';
/** A key built to break naive SQL quoting. */
export const HOSTILE_KEY = "o-'); DROP TABLE txn_spans; --\\'\n\t\0x";

export interface FixtureTxn {
  key: string;
  start: bigint;
  risk: number;
  venue: number;
  book: number;
}

/** Window A: o-1..o-100 one every 0.5 s from T0, risk = i us, venue = 50 us + 10i ns, book = 2 us. */
export const WINDOW_A: FixtureTxn[] = Array.from({ length: 100 }, (_, n) => ({ key: `o-${n + 1}`, start: T0 + BigInt(n) * 500_000_000n, risk: (n + 1) * 1000, venue: 50_000 + (n + 1) * 10, book: 2000 }));
/** Window B (T0 + 5 min): p-1..p-10, risk = 20i us (slower), venue as in A. */
export const WINDOW_B: FixtureTxn[] = Array.from({ length: 10 }, (_, n) => ({ key: `p-${n + 1}`, start: T0 + 5n * MINUTE + BigInt(n) * 1_000_000_000n, risk: (n + 1) * 20_000, venue: 50_000, book: 2000 }));
export const HOSTILE: FixtureTxn = { key: HOSTILE_KEY, start: T0 + 10n * MINUTE, risk: 7000, venue: 60_000, book: 2000 };

/** Where each hop of a fixture transaction starts and ends. */
export function hopTimes(t: FixtureTxn) {
  const risk = { start: t.start, end: t.start + BigInt(t.risk) };
  const venue = { start: risk.end + 5000n, end: risk.end + 5000n + BigInt(t.venue) };
  const book = { start: venue.end + 1000n, end: venue.end + 1000n + BigInt(t.book) };
  return { risk, venue, book };
}

export function spanRows(t: FixtureTxn, version = 2n, riskOverride?: number): TxnSpanRow[] {
  const day = utcDay(t.start);
  const trace = txnTraceId(DEP, t.key, day);
  const root = txnSpanId(trace, 'root');
  const h = hopTimes(t);
  const span = (what: string, kind: TxnSpanRow['kind'], name: string, from: [string, string], to: [string, string], start: bigint, end: bigint, bound: number, parent: string): TxnSpanRow => ({
    date: day, deployment: DEP, txn: t.key, trace_id: trace, span_id: what === 'root' ? root : txnSpanId(trace, what), parent_span_id: parent, kind, name,
    host: to[0], from_host: from[0], to_host: to[0], from_event: from[1], to_event: to[1], start_ns: String(start), end_ns: String(end), duration_ns: String(end - start),
    error_bound_ns: String(bound), events: kind === 'txn' ? 6 : 2, attr_names: ['venue'], attr_values: ['XNYS'], version: String(version),
  });
  const riskEnd = riskOverride === undefined ? h.risk.end : h.risk.start + BigInt(riskOverride);
  return [
    span('root', 'txn', 'order', ['gw', 'gateway_out'], ['venue', 'book_out'], h.risk.start, h.book.end, RISK_BOUND + VENUE_BOUND, ''),
    span('hop:risk#0', 'hop', 'risk', ['gw', 'gateway_out'], ['risk', 'risk_in'], h.risk.start, riskEnd, RISK_BOUND, root),
    span('hop:venue#0', 'hop', 'venue', ['risk', 'risk_out'], ['venue', 'venue_in'], h.venue.start, h.venue.end, VENUE_BOUND, root),
    span('hop:book#0', 'hop', 'book', ['venue', 'venue_in'], ['venue', 'book_out'], h.book.start, h.book.end, 0, root),
  ];
}

/** The transaction's events as stored in probe_events: host clocks (the risk host's 3 ms ahead), one bundle layout. */
export function eventRows(t: FixtureTxn, seqBase: number) {
  const h = hopTimes(t);
  const at = (host: string, event: string, corrected: bigint, seq: number, offset: number) => ({
    date: utcDay(corrected), ts_ns: String(corrected + BigInt(offset)), deployment: DEP, host, boot_id: `boot-${host}`, seq, bundle: BUNDLE, probe: `usdt:/opt/${host}:${event}`,
    event, pid: 100, tid: 100, cpu: 0, comm: host, txn: t.key, latency_ns: 0, clock_offset_ns: offset, clock_uncertainty_ns: offset ? RISK_BOUND - 100_000 : 100_000,
    n0: seqBase, n1: 0, n2: 0, n3: 0, n4: 0, n5: 0, n6: 0, n7: 0, s0: 'XNYS', s1: '', s2: '', s3: '', extra_names: [], extra_values: [],
  });
  return [
    at('gw', 'gateway_out', h.risk.start, seqBase, 0),
    at('risk', 'risk_in', h.risk.end, seqBase, RISK_OFFSET),
    at('risk', 'risk_out', h.venue.start, seqBase + 1, RISK_OFFSET),
    at('venue', 'venue_in', h.venue.end, seqBase, 0),
    at('venue', 'book_out', h.book.end, seqBase + 1, 0),
  ];
}

/** Writes the fixture through the real ClickHouse (migrations must have run: ingest runs them). */
export async function insertFixture(config: TapfleetConfig): Promise<void> {
  const ch = createClickHouse(config);
  try {
    const all = [...WINDOW_A, ...WINDOW_B, HOSTILE];
    // o-7 was re-opened by a late event: an older version with a wrong risk hop stays stored until a merge; FINAL must hide it.
    const stale = spanRows(WINDOW_A[6]!, 1n, 999_999);
    await ch.insert({ table: 'txn_spans', values: [...all.flatMap((t) => spanRows(t)), ...stale], format: 'JSONEachRow' });
    await ch.insert({ table: 'probe_events', values: all.flatMap((t, i) => eventRows(t, i * 2)), format: 'JSONEachRow' });
    const layout = [{ name: 'order_id', type: 'u64', offset: 24, size: 8, slot: 'n0' }, { name: 'venue', type: 'str', offset: 32, size: 16, slot: 's0' }];
    await ch.insert({
      table: 'event_layouts', format: 'JSONEachRow',
      values: ['gateway_out', 'risk_in', 'risk_out', 'venue_in', 'book_out'].map((event, id) => ({ bundle: BUNDLE, event_id: id, event, fields: JSON.stringify(layout), first_seen: '2026-12-01 10:00:00' })),
    });
    // Map snapshots of two hosts, one a second for a minute: @calls[read] = 10 s + host-number.
    const snaps = [];
    for (let s = 0; s < 60; s++) for (const [n, host] of [[1, 'gw'], [2, 'risk']] as const) {
      snaps.push({ date: '2026-12-01', taken_at_ms: Number(T0 / 1_000_000n) + s * 1000, deployment: DEP, host, boot_id: `boot-${host}`, map: '@calls', key: ['read'], value: 10 * s + n, count: 0, buckets: [] });
    }
    await ch.insert({ table: 'aggregation_snapshots', values: snaps, format: 'JSONEachRow' });
  } finally {
    await ch.close();
  }
}

export interface FixtureTokens {
  admin: string;
  viewer: string;
  agent: string;
}

/** Tokens in the stack's Redis, as the control plane makes them; the admin one also where the CLI finds it. */
export async function fixtureTokens(config: TapfleetConfig): Promise<FixtureTokens> {
  const redis = createRedis(config);
  try {
    const tokens = new TokenStore(redis);
    return { admin: await tokens.bootstrapAdmin(adminTokenPath(config.dataDir)), viewer: await tokens.create('test-viewer', 'viewer'), agent: await tokens.create('test-join', 'agent') };
  } finally {
    redis.disconnect();
  }
}

/** A config file for `tapfleet query ...` and `query-server` children: the stack's stores plus the query section. */
export function queryConfigFile(config: TapfleetConfig, port: number): string {
  const file = join(config.dataDir, 'query.json');
  writeFileSync(file, JSON.stringify({ dataDir: config.dataDir, redis: config.redis, clickhouse: config.clickhouse, nats: config.nats, query: { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` } }));
  return file;
}
