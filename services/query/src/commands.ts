import { stringOption, terminalWord, untilSignal, UsageError, type Command, type OptionSpec, type OptionValues } from '@tapfleet/runtime';
import { AggsResponse, CompareResponse, durationMs, EventsResponse, HopsResponse, LatencyResponse, RankResponse, SlowestResponse, TxnResponse } from '@tapfleet/schemas';
import { QueryClient } from './query-client.js';
import { clockText, compareText, durationText, hopsText, rankText, slowestText, table, waterfallText } from './text-format.js';

export const queryServerCommand: Command = {
  path: ['query-server'],
  summary: 'run the query service: history HTTP API, web page, /metrics and /healthz (config section query)',
  details: 'Reads ClickHouse (txn_spans, probe_events, aggregation_snapshots) and checks bearer tokens in Redis, the control plane\'s. Runs until SIGINT/SIGTERM.',
  async run(_v, _p, { config, log }) {
    // Loaded here: the service (ClickHouse, Redis, the web page) is only for this long-running command.
    const { QueryService } = await import('./query-service.js');
    const service = await QueryService.start(config, log);
    await untilSignal();
    await service.stop();
    return 0;
  },
};

const WINDOW_OPTIONS: Record<string, OptionSpec> = {
  deployment: { type: 'string', short: 'd', description: 'deployment id', valueName: 'D' },
  from: { type: 'string', description: 'window start: ISO 8601 (2026-12-02T14:00:00Z) or epoch ms', valueName: 'TIME' },
  to: { type: 'string', description: 'window end (default: now)', valueName: 'TIME' },
  last: { type: 'string', description: 'window: the last DURATION up to now, e.g. 15m (instead of --from/--to)', valueName: 'DURATION' },
};
const JSON_OPTION: Record<string, OptionSpec> = { json: { type: 'boolean', description: 'print the API answer as JSON' } };

function required(values: OptionValues, name: string): string {
  const v = stringOption(values, name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

/** --from/--to or --last, as the API's time parameters (its schema checks them). */
function windowParams(values: OptionValues): { from: string; to: string } {
  const last = stringOption(values, 'last');
  const now = Date.now();
  if (last !== undefined) {
    let ms: number;
    try {
      ms = durationMs(last);
    } catch {
      throw new UsageError(`--last: not a duration: ${last} (e.g. 90s, 15m, 2h)`);
    }
    return { from: String(now - ms), to: String(now) };
  }
  return { from: required(values, 'from'), to: stringOption(values, 'to') ?? String(now) };
}

function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`give exactly one ${what}`);
  return positionals[0]!;
}

const printJson = (out: (l: string) => void, v: unknown) => out(JSON.stringify(v, null, 2));

export const queryTxnCommand: Command = {
  path: ['query', 'txn'],
  args: 'KEY',
  summary: 'one transaction by key: its spans as a text waterfall (corrected times, error bounds) and its events',
  options: { deployment: WINDOW_OPTIONS.deployment!, rank: { type: 'boolean', description: 'also rank each hop among its minute (needs --deployment)' }, ...JSON_OPTION },
  async run(values, positionals, { config, out }) {
    const key = onePositional(positionals, 'transaction KEY');
    const client = QueryClient.fromConfig(config);
    const deployment = stringOption(values, 'deployment');
    const r = await client.get('/v1/txn', { key, deployment }, TxnResponse);
    const rank = values.rank ? await client.get('/v1/rank', { key, deployment: deployment ?? r.transactions[0]?.deployment }, RankResponse) : undefined;
    if (values.json) {
      printJson(out, rank ? { ...r, rank } : r);
      return r.transactions.length ? 0 : 1;
    }
    if (!r.transactions.length) {
      out(`no transaction ${terminalWord(key)}${deployment ? ` in ${deployment}` : ''}`);
      return 1;
    }
    r.transactions.forEach((t, i) => {
      if (i) out('');
      waterfallText(t).forEach(out);
    });
    if (rank) {
      out('');
      rankText(rank).forEach(out);
    }
    return 0;
  },
};

export const queryRankCommand: Command = {
  path: ['query', 'rank'],
  args: 'KEY',
  summary: "a transaction's percentile rank per hop within its minute (\"p97 of its minute\")",
  options: { deployment: WINDOW_OPTIONS.deployment!, ...JSON_OPTION },
  async run(values, positionals, { config, out }) {
    const r = await QueryClient.fromConfig(config).get('/v1/rank', { key: onePositional(positionals, 'transaction KEY'), deployment: required(values, 'deployment') }, RankResponse);
    if (values.json) printJson(out, r);
    else rankText(r).forEach(out);
    return 0;
  },
};

export const queryHopsCommand: Command = {
  path: ['query', 'hops'],
  summary: 'hop latency in a window: count, p50/p90/p99/p99.9, max, log2 histogram (--event: an event\'s own latency instead)',
  options: {
    ...WINDOW_OPTIONS,
    hop: { type: 'string', description: 'only this hop', valueName: 'NAME' },
    event: { type: 'string', description: 'latency of this event (from its latency field, each stored event once) instead of hop spans', valueName: 'EVENT' },
    host: { type: 'string', description: 'with --event: only this host', valueName: 'HOST' },
    series: { type: 'boolean', description: 'also print the per-minute series' },
    ...JSON_OPTION,
  },
  async run(values, _p, { config, out }) {
    const client = QueryClient.fromConfig(config);
    const deployment = required(values, 'deployment');
    const event = stringOption(values, 'event');
    const stats = event !== undefined
      ? await client.get('/v1/latency', { deployment, event, host: stringOption(values, 'host'), ...windowParams(values) }, LatencyResponse)
      : await client.get('/v1/hops', { deployment, hop: stringOption(values, 'hop'), ...windowParams(values) }, HopsResponse);
    if (values.json) {
      printJson(out, stats);
      return 0;
    }
    const hops = 'stats' in stats ? (stats.stats.count ? [stats.stats] : []) : stats.hops;
    if ('stats' in stats) out(`${stats.stats.count} event(s) with a latency (${stats.storedRows} stored rows, duplicates counted once)`);
    hopsText(hops).forEach(out);
    if (values.series) {
      for (const h of hops) {
        out('');
        out(`${h.name} per minute:`);
        table(['MINUTE (UTC)', 'COUNT', 'P50', 'P99', 'MAX'], h.series.map((p) => [new Date(p.minuteMs).toISOString().slice(0, 16), String(p.count), durationText(p.p50), durationText(p.p99), durationText(p.max)])).forEach(out);
      }
    }
    return 0;
  },
};

export const querySlowestCommand: Command = {
  path: ['query', 'slowest'],
  summary: 'the slowest N transactions in a window (or spans of one hop), with their hop breakdown',
  options: { ...WINDOW_OPTIONS, n: { type: 'string', short: 'n', description: 'how many (default 10, at most 1000)', valueName: 'N' }, hop: { type: 'string', description: 'rank by this hop instead of the whole transaction', valueName: 'NAME' }, ...JSON_OPTION },
  async run(values, _p, { config, out }) {
    const r = await QueryClient.fromConfig(config).get('/v1/slowest', { deployment: required(values, 'deployment'), n: stringOption(values, 'n'), hop: stringOption(values, 'hop'), ...windowParams(values) }, SlowestResponse);
    if (values.json) printJson(out, r);
    else slowestText(r).forEach(out);
    return 0;
  },
};

export const queryCompareCommand: Command = {
  path: ['query', 'compare'],
  summary: 'compare two windows hop by hop (count, p50, p99 and their change)',
  options: {
    deployment: WINDOW_OPTIONS.deployment!,
    'a-from': { type: 'string', description: 'first window start', valueName: 'TIME' },
    'a-to': { type: 'string', description: 'first window end', valueName: 'TIME' },
    'b-from': { type: 'string', description: 'second window start', valueName: 'TIME' },
    'b-to': { type: 'string', description: 'second window end', valueName: 'TIME' },
    hop: { type: 'string', description: 'only this hop', valueName: 'NAME' },
    ...JSON_OPTION,
  },
  async run(values, _p, { config, out }) {
    const r = await QueryClient.fromConfig(config).get('/v1/compare', {
      deployment: required(values, 'deployment'), aFrom: required(values, 'a-from'), aTo: required(values, 'a-to'), bFrom: required(values, 'b-from'), bTo: required(values, 'b-to'), hop: stringOption(values, 'hop'),
    }, CompareResponse);
    if (values.json) printJson(out, r);
    else compareText(r).forEach(out);
    return 0;
  },
};

export const queryEventsCommand: Command = {
  path: ['query', 'events'],
  summary: 'raw events by deployment, event, host, time and any emitted field by name, a page at a time',
  details: 'Field filters: --where FIELD=VALUE (also !=, >=, <=, >, <), repeatable, need --event. The last line gives --cursor for the next page.',
  options: {
    ...WINDOW_OPTIONS,
    event: { type: 'string', description: 'event name', valueName: 'EVENT' },
    host: { type: 'string', description: 'host id', valueName: 'HOST' },
    where: { type: 'string', multiple: true, description: 'filter on an emitted field, e.g. qty>=5 or venue=XNYS', valueName: 'FIELD=VALUE' },
    limit: { type: 'string', description: 'rows per page (default 100, at most 1000)', valueName: 'N' },
    cursor: { type: 'string', description: 'continue after the page that printed it', valueName: 'CURSOR' },
    ...JSON_OPTION,
  },
  async run(values, _p, { config, out }) {
    const where = values.where;
    const r = await QueryClient.fromConfig(config).get('/v1/events', {
      deployment: required(values, 'deployment'), event: stringOption(values, 'event'), host: stringOption(values, 'host'), limit: stringOption(values, 'limit'), cursor: stringOption(values, 'cursor'),
      where: Array.isArray(where) ? where.map(String) : undefined, ...windowParams(values),
    }, EventsResponse);
    if (values.json) {
      printJson(out, r);
      return 0;
    }
    table(['TIME (UTC, CORRECTED)', 'HOST', 'SEQ', 'EVENT', 'TXN', 'FIELDS'], r.rows.map((e) => [
      `${new Date(Number(BigInt(e.correctedNs) / 1_000_000n)).toISOString().slice(0, 10)} ${clockText(BigInt(e.correctedNs))}`, e.host, String(e.seq), e.event, e.txn,
      Object.entries(e.fields).map(([k, v]) => `${k}=${v}`).join(' '),
    ])).forEach(out);
    out(r.nextCursor ? `more: --cursor ${r.nextCursor}` : `${r.rows.length} row(s), end`);
    return 0;
  },
};

export const queryAggsCommand: Command = {
  path: ['query', 'aggs'],
  summary: "a deployment's map values over time (snapshots summed over hosts per step)",
  options: { ...WINDOW_OPTIONS, map: { type: 'string', description: 'only this map, e.g. @calls', valueName: 'MAP' }, step: { type: 'string', description: 'seconds per point (default: about 300 points)', valueName: 'S' }, ...JSON_OPTION },
  async run(values, _p, { config, out }) {
    const r = await QueryClient.fromConfig(config).get('/v1/aggregations', { deployment: required(values, 'deployment'), map: stringOption(values, 'map'), stepS: stringOption(values, 'step'), ...windowParams(values) }, AggsResponse);
    if (values.json) {
      printJson(out, r);
      return 0;
    }
    for (const s of r.series) {
      const last = s.points[s.points.length - 1];
      out(`${s.map}[${s.key.map(terminalWord).join(', ')}]: ${last ? `${last[1]} at ${new Date(last[0]).toISOString()}` : '-'} (${s.points.length} point(s), every ${r.stepMs / 1000}s)`);
    }
    if (!r.series.length) out('no snapshots in this window');
    return 0;
  },
};

export const queryCommands: Command[] = [queryServerCommand, queryTxnCommand, queryRankCommand, queryHopsCommand, querySlowestCommand, queryCompareCommand, queryEventsCommand, queryAggsCommand];
