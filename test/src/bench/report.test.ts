import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BenchResult, spread, unstableBaseline, type Figure } from './figures.js';
import { figureRow, renderReport, verdict, type ReportInput } from './report.js';

const probe: Figure = {
  what: 'probe cost, USDT emitted', value: 760, unit: 'ns',
  baseline: { what: 'bpftrace, same sink', value: 1500 }, ratio: 760 / 1500, ratioMeans: 'tapfleet / bpftrace',
  goal: '<= 1x bpftrace', met: true,
};

function input(figures: Figure[], runs: ReportInput['runs'] = [{ bench: 'probe-costs', script: 'bench/probe-costs.sh', args: [], seconds: 95, outcome: 'ok', load: [1.5, 2.25] }]): ReportInput {
  return {
    generatedAt: '2026-12-02T07:00:00.000Z', quick: false, totalSeconds: 1500, budgetMinutes: 135,
    machine: { nproc: 2, model: 'AMD EPYC 7B13', memoryGiB: 7.8, kernel: '6.18.44-fc-v857' },
    versions: { node: 'v20.19.2', bpftrace: 'v0.17.0' },
    runs,
    results: new Map([['probe-costs', BenchResult.parse({ bench: 'probe-costs', title: 'Probe costs', ranAt: '2026-12-02T06:59:00.000Z', command: 'bash bench/probe-costs.sh', figures })]]),
  };
}

describe('bench report: a baseline that moves more than 2x between rounds', () => {
  test('spread is max/min, infinite across zero, 1 for a single round', () => {
    assert.equal(spread([100, 150, 200]), 2);
    assert.equal(spread([1500, 19000]), 19000 / 1500);
    assert.equal(spread([-3, 5]), Infinity);
    assert.equal(spread([7]), 1);
  });

  test('bpftrace at 1.5 us then 19 us is flagged, the ratio called not meaningful; within 2x it is not', () => {
    const flag = unstableBaseline('bpftrace\'s added cost', [1500, 19000, 1600], 'ns');
    assert.match(flag ?? '', /moved 12\.7x between rounds \(1500, 19000, 1600 ns\): the ratio is not meaningful/);
    assert.equal(unstableBaseline('bpftrace\'s added cost', [1500, 2900, 1600], 'ns'), undefined);
    assert.equal(unstableBaseline('x', [100, 200], 'ns'), undefined, 'exactly 2x still holds');
  });

  test('an unstable figure is not judged against its goal, even when its ratio would meet it', () => {
    const f: Figure = { ...probe, unstable: unstableBaseline('bpftrace\'s added cost', [1500, 19000], 'ns')! };
    assert.equal(verdict(f), 'not judged (baseline unstable)');
    const row = figureRow(f);
    assert.match(row, /0\.51 \(tapfleet \/ bpftrace\), not meaningful/);
    assert.match(row, /\*\*not judged \(baseline unstable\)\*\*/);
    assert.doesNotMatch(row, /\*\*met\*\*/);
  });

  test('the report lists flagged baselines and counts them apart from met and not met', () => {
    const flagged: Figure = { ...probe, what: 'tracepoint count', unstable: 'bpftrace moved 3.4x' };
    const missed: Figure = { ...probe, what: 'uretprobe', value: 2000, ratio: 1.3, met: false };
    const text = renderReport(input([probe, flagged, missed]));
    assert.match(text, /Goals: 1 met, 1 not met, 1 not judged because their baseline moved more than 2x/);
    assert.match(text, /\*\*Flagged baselines\*\*[^]*- tracepoint count: bpftrace moved 3\.4x/);
    assert.match(text, /uretprobe \| 2,000 ns \| 1,500 ns \(bpftrace, same sink\) \| 1\.30 \(tapfleet \/ bpftrace\) \| <= 1x bpftrace: \*\*NOT met\*\*/);
  });
});

describe('bench report: what every report states', () => {
  test('machine, versions and a link to each raw result', () => {
    const text = renderReport(input([probe]));
    assert.match(text, /Machine: 2 vCPU \(AMD EPYC 7B13\), 7\.8 GiB memory, kernel 6\.18\.44-fc-v857/);
    assert.match(text, /Versions: node v20\.19\.2, bpftrace v0\.17\.0/);
    assert.match(text, /in 25 min \(the full run[^)]*\), the benchmarks one at a time, each stopped at its timeout \(135 min in all at most\)/);
    assert.match(text, /\[bench\/results\/probe-costs\.md\]\(bench\/results\/probe-costs\.md\)/);
    assert.match(text, /95 s, load average 1\.5 at its start and 2\.3 at its end/);
  });

  test('a bench that failed or timed out is reported as such, with its output, not silently left out', () => {
    const runs: ReportInput['runs'] = [
      { bench: 'probe-costs', script: 'bench/probe-costs.sh', args: [], seconds: 95, outcome: 'ok', load: [1.5, 2.25] },
      { bench: 'query', script: 'bench/query.sh', args: ['--sizes', '1000000'], seconds: 900, outcome: 'timed out', load: [3, 4], error: 'bench: filling to 1000000 events' },
    ];
    const text = renderReport(input([probe], runs));
    assert.match(text, /## query\n\n`bash bench\/query\.sh --sizes 1000000`, 900 s, load average 3\.0 at its start and 4\.0 at its end \(2 vCPU\)\./);
    assert.match(text, /\*\*timed out\*\*:\n\n```\nbench: filling to 1000000 events\n```/);
  });

  test('a bench carried over from its last run (--only X --keep-others) says so and when, and the header names what ran', () => {
    const runs: ReportInput['runs'] = [
      { bench: 'start', script: 'bench/start.sh', args: [], seconds: 240, outcome: 'ok', load: [0.5, 0.7] },
      { bench: 'probe-costs', script: 'bench/probe-costs.sh', args: [], seconds: 0, outcome: 'ok', load: [0, 0], carriedFrom: '2026-12-02T06:59:00.000Z' },
    ];
    const text = renderReport(input([probe], runs));
    assert.match(text, /by `npm run bench -- --only start --keep-others`/);
    assert.match(text, /Only start ran this time; probe-costs is carried over from its own last run \(each section says when\)/);
    assert.match(text, /## Probe costs\n\n\*\*Not rerun in this run\*\*: its figures are from its own last run, 2026-12-02T06:59:00\.000Z \(`bash bench\/probe-costs\.sh`\)/);
    assert.doesNotMatch(text, /0 s, load average 0\.0/);
    assert.match(text, /probe cost, USDT emitted \| 760 ns/);
  });

  test('a figure without a goal has no verdict; one whose goal cannot be judged says so', () => {
    assert.equal(verdict({ what: 'p99', value: 3, unit: 'ms' }), '');
    assert.equal(verdict({ what: 'lookup at 1M', value: 3, unit: 'ms', goal: 'p50 < 20 ms at 50M' }), 'not judged');
  });

  test('figures that break the schema are refused before they reach the report', () => {
    assert.throws(() => BenchResult.parse({ bench: 'x', title: 't', ranAt: 'now', command: 'c', figures: [{ what: '', value: 1, unit: 'ms' }] }));
    assert.throws(() => BenchResult.parse({ bench: 'x', title: 't', ranAt: 'now', command: 'c', figures: [{ what: 'a', value: 'fast', unit: 'ms' }] }));
  });
});
