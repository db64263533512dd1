/**
 * Probe-cost benchmark: tapfleet against Debian's bpftrace, side by side in one run.
 * Prints and writes bench/results/probe-costs.md. Not a test: nothing here asserts.
 *
 *   node test/dist/bench/probe-costs.js [--iterations N]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR, PROJECT_ROOT } from '@tapfleet/runtime';
import { compileForThisHost } from '@tapfleet/local';
import { RunnerProcess, whenReady } from '@tapfleet/runner';
import { median, spread, unstableBaseline, writeFigures, type Figure } from './figures.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '5' } } });
const N = Number(values.iterations);
const ROUNDS = Number(values.rounds);
const key = generateKeyPairSync('ed25519').privateKey;
const work = mkdtempSync(join(tmpdir(), 'tapfleet-bench-'));
/** Both tools print to a file here: one sink, in memory, for both (not a pipe one reads slower than the other). */
const SINK_DIR = mkdtempSync('/dev/shm/tapfleet-bench-sink-');
const binDir = join(DEFAULT_DATA_DIR, 'bench-bin');
mkdirSync(binDir, { recursive: true });
const BIN = join(binDir, 'bench-tracee');
execFileSync('gcc', ['-O1', '-fno-omit-frame-pointer', '-mno-omit-leaf-frame-pointer', '-Wl,--build-id', '-o', BIN, join(PROJECT_ROOT, 'test', 'fixtures', 'bench-tracee.c')]);
const TAPFLEET = join(PROJECT_ROOT, 'bin', 'tapfleet.js');
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);

const outFile = () => join(work, `out-${Math.random().toString(36).slice(2)}`);
const perOp = (file: string) => Number(readFileSync(file, 'utf8'));

/** One traced (or untraced) run of the target: its ns/op, and what the tool says and wrote. */
interface Sample {
  ns: number;
  /** Events the tool itself says it lost (tapfleet: ring buffer full; bpftrace: "Lost N events"). */
  lost: number;
  /** Lines the tool wrote to the sink. */
  lines: number;
}

function baseline(mode: string, n: number): Sample {
  const f = outFile();
  execFileSync(BIN, [mode, String(n), f]);
  return { ns: perOp(f), lost: 0, lines: 0 };
}

/** Runs a tool's command line with stdout to a fresh file on tmpfs; its ns/op, lost count and lines written. */
function traced(tool: string, argv: string[], f: string, lostPattern: RegExp): Sample {
  const sink = join(SINK_DIR, 'out');
  const fd = openSync(sink, 'w');
  try {
    const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`${tool} failed (${r.status}): ${r.stderr}`);
    const out = readFileSync(sink, 'utf8');
    const lost = [...`${r.stderr}\n${out}`.matchAll(lostPattern)].reduce((n, m) => n + Number(m[1]), 0);
    return { ns: perOp(f), lost, lines: out.split('\n').filter(Boolean).length };
  } finally {
    closeSync(fd);
    rmSync(sink, { force: true });
  }
}

/** `tapfleet run --json -c TARGET > sink`, as a user runs it (compiled, verified, loaded by the CLI). */
function tapfleet(script: string, mode: string, n: number): Sample {
  const file = join(work, `case-${Math.random().toString(36).slice(2)}.tap`);
  writeFileSync(file, script);
  const f = outFile();
  const sink = join(SINK_DIR, 'out');
  const fd = openSync(sink, 'w');
  try {
    const r = spawnSync(process.execPath, [TAPFLEET, 'run', file, '--json', '-c', `${BIN} ${mode} ${n} ${f}`], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`tapfleet run failed (${r.status}): ${r.stderr}`);
    const m = /tapfleet run: (\d+) event\(s\)(?:, (\d+) dropped)?/.exec(r.stderr);
    if (!m) throw new Error(`tapfleet run printed no summary: ${r.stderr}`);
    const lines = readFileSync(sink, 'utf8').split('\n').filter((l) => l.startsWith('{"event"')).length;
    return { ns: perOp(f), lost: Number(m[2] ?? 0), lines };
  } finally {
    closeSync(fd);
    rmSync(sink, { force: true });
  }
}

function bpftrace(script: string, mode: string, n: number): Sample {
  const f = outFile();
  return traced('bpftrace', ['bpftrace', '-e', script, '-c', `${BIN} ${mode} ${n} ${f}`], f, /Lost (\d+) events/g);
}

interface Case {
  name: string;
  mode: string;
  n: number;
  tapfleet: string;
  bpftrace: string;
  goal: string;
  /** The goal as a bound on tapfleet added / bpftrace added (undefined: no goal, a comparison row). */
  maxRatio?: number;
  /** Each traced run writes one line per call (else the probe only counts). */
  emits: boolean;
}
const CASES: Case[] = [
  { name: 'tracepoint, count', mode: 'getpid', n: N, tapfleet: 'probe tracepoint:syscalls:sys_enter_getpid { @n = count(); }', bpftrace: 'tracepoint:syscalls:sys_enter_getpid { @n = count(); }', goal: '<= 0.5x bpftrace', maxRatio: 0.5, emits: false },
  { name: 'uprobe, count', mode: 'uprobe', n: N, tapfleet: `probe uprobe:${BIN}:bench_fn { @n = count(); }`, bpftrace: `uprobe:${BIN}:bench_fn { @n = count(); }`, goal: '<= 1x bpftrace', maxRatio: 1, emits: false },
  { name: 'USDT, one argument emitted (read from the spec: default)', mode: 'usdt', n: N / 2, tapfleet: `probe usdt:${BIN}:tfbench:op { emit op { v: arg0 } }`, bpftrace: `usdt:${BIN}:tfbench:op { printf("%d\\n", arg0); }`, goal: '<= 1x bpftrace', maxRatio: 1, emits: true },
  {
    name: 'uretprobe, @entry + latency emitted', mode: 'uret', n: N / 2,
    tapfleet: `probe uretprobe:${BIN}:bench_ret { emit r { a: @entry(arg0), took: latency } }`,
    bpftrace: `uprobe:${BIN}:bench_ret { @s[tid] = nsecs; @a[tid] = arg0; } uretprobe:${BIN}:bench_ret /@s[tid]/ { printf("%d %d\\n", @a[tid], nsecs - @s[tid]); delete(@s[tid]); delete(@a[tid]); }`,
    goal: '<= 1x bpftrace', maxRatio: 1, emits: true,
  },
];

interface CaseResult {
  c: Case;
  base: Sample[];
  tf: Sample[];
  bt: Sample[];
  compileMs: number;
}

const results: CaseResult[] = [];
for (const c of CASES) {
  const t0 = performance.now();
  await compileForThisHost('bench.tap', c.tapfleet, { signingKey: key });
  const r: CaseResult = { c, base: [], tf: [], bt: [], compileMs: performance.now() - t0 };
  for (let i = 0; i < ROUNDS; i++) {
    progress(`${c.name}: round ${i + 1}/${ROUNDS}`);
    r.base.push(baseline(c.mode, c.n));
    // Alternate which tool goes first, so neither always follows the other's detach.
    const first = i % 2 === 0;
    if (first) r.tf.push(tapfleet(c.tapfleet, c.mode, c.n));
    r.bt.push(bpftrace(c.bpftrace, c.mode, c.n));
    if (!first) r.tf.push(tapfleet(c.tapfleet, c.mode, c.n));
  }
  results.push(r);
}

const rows: string[] = [];
const roundRows: string[] = [];
const compileRows: string[] = [];
const flags: string[] = [];
const figures: Figure[] = [];
for (const { c, base, tf, bt, compileMs } of results) {
  // Each round's added cost against that round's own untraced run.
  const tfAdded = tf.map((s, i) => s.ns - base[i]!.ns), btAdded = bt.map((s, i) => s.ns - base[i]!.ns);
  const b = median(base.map((s) => s.ns)), t = median(tfAdded), p = median(btAdded);
  const unstable = unstableBaseline(`bpftrace's added cost for "${c.name}"`, btAdded, 'ns');
  if (unstable) flags.push(unstable);
  const ratio = t / p;
  const lost = (ss: Sample[]) => ss.reduce((n, s) => n + s.lost, 0);
  // A tool that lost events skipped work the other did: its cost is not comparable, so the goal is not judged.
  const met = c.maxRatio === undefined || unstable || lost(tf) || lost(bt) ? undefined : ratio <= c.maxRatio;
  const written = (ss: Sample[]) => (c.emits ? `${ss.map((s) => s.lines).join(', ')}` : '-');
  // A tool that lost events did less work per call than the other: say so next to its cost.
  const lossNote = lost(tf) || lost(bt) ? ` (not like for like: ${lost(tf) ? `tapfleet lost ${lost(tf)}` : ''}${lost(tf) && lost(bt) ? ', ' : ''}${lost(bt) ? `bpftrace lost ${lost(bt)}` : ''} of ${c.n * ROUNDS} events)` : '';
  rows.push(`| ${c.name} | ${c.n} | ${b.toFixed(1)} | ${t.toFixed(1)} | ${p.toFixed(1)} | ${unstable ? `${ratio.toFixed(2)} (not meaningful: bpftrace moved ${spread(btAdded).toFixed(1)}x)` : ratio.toFixed(2)} | ${c.goal}${met === undefined ? '' : met ? ': met' : ': NOT met'}${lossNote} | ${lost(tf)} / ${lost(bt)} |`);
  roundRows.push(`| ${c.name} | ${base.map((s) => s.ns.toFixed(1)).join(', ')} | ${tfAdded.map((x) => x.toFixed(0)).join(', ')} | ${btAdded.map((x) => x.toFixed(0)).join(', ')} | ${spread(tfAdded).toFixed(2)}x / ${spread(btAdded).toFixed(2)}x | ${written(tf)} | ${written(bt)} |`);
  compileRows.push(`| ${c.name} | ${compileMs.toFixed(0)} |`);
  figures.push({
    what: `probe cost, ${c.name}: ns added per call`, value: Number(t.toFixed(1)), unit: 'ns',
    baseline: { what: 'bpftrace, same events, same sink, alternating rounds', value: Number(p.toFixed(1)) }, ratio, ratioMeans: 'tapfleet / bpftrace',
    goal: c.goal, ...(met === undefined ? {} : { met }), ...(unstable ? { unstable } : {}),
    note: `lost events (each tool's own count): tapfleet ${lost(tf)}, bpftrace ${lost(bt)} of ${c.emits ? c.n * ROUNDS : 'n/a (count only)'}${lossNote ? '; not like for like' : ''}`,
  });
}

/** exec -> all probes attached, 5 probes (tracepoint, uprobe, uretprobe, 2 USDT). */
const FIVE_TF = `probe tracepoint:syscalls:sys_enter_getpid { @a = count(); }
probe uprobe:${BIN}:bench_fn { @b = count(); }
probe uretprobe:${BIN}:bench_ret { @c = count(); }
probe usdt:${BIN}:tfbench:op { @d = count(); }
probe tracepoint:sched:sched_switch { @e = count(); }`;
const FIVE_BT = `tracepoint:syscalls:sys_enter_getpid { @a = count(); } uprobe:${BIN}:bench_fn { @b = count(); } uretprobe:${BIN}:bench_ret { @c = count(); } usdt:${BIN}:tfbench:op { @d = count(); } tracepoint:sched:sched_switch { @e = count(); } BEGIN { printf("ready\\n"); }`;

async function tapfleetStartStop(): Promise<{ startMs: number; stopMs: number; detachMs: number }> {
  const bundle = await compileForThisHost('five.tap', FIVE_TF, { signingKey: key });
  const obj = join(work, 'five.o');
  writeFileSync(obj, bundle.object);
  const t0 = performance.now();
  const runner = new RunnerProcess({ objectPath: obj, manifest: bundle.manifest });
  await whenReady(runner);
  const startMs = performance.now() - t0;
  let detachMs = 0;
  runner.on('record', (r) => r.type === 'detached' && (detachMs = Number(r.detachNs) / 1e6));
  const t1 = performance.now();
  await runner.stop();
  return { startMs, stopMs: performance.now() - t1, detachMs };
}

function bpftraceStartStop(): Promise<{ startMs: number; stopMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // -B line: bpftrace block-buffers a pipe, and 'ready' would never arrive.
    const child = spawn('bpftrace', ['-B', 'line', '-e', FIVE_BT], { stdio: ['ignore', 'pipe', 'ignore'] });
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    let startMs = 0;
    let t1 = 0;
    child.stdout.on('data', (d: Buffer) => {
      if (!startMs && d.toString().includes('ready')) {
        startMs = performance.now() - t0;
        t1 = performance.now();
        child.kill('SIGINT');
      }
    });
    child.on('exit', () => (clearTimeout(guard), startMs ? resolve({ startMs, stopMs: performance.now() - t1 }) : reject(new Error('bpftrace did not start'))));
  });
}

const tfStart: number[] = [], tfStop: number[] = [], tfDetach: number[] = [], btStart: number[] = [], btStop: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  progress(`start-up and stop: round ${r + 1}/${ROUNDS}`);
  const t = await tapfleetStartStop();
  tfStart.push(t.startMs); tfStop.push(t.stopMs); tfDetach.push(t.detachMs);
  const b = await bpftraceStartStop();
  btStart.push(b.startMs); btStop.push(b.stopMs);
}

const bpftraceVersion = execFileSync('bpftrace', ['--version'], { encoding: 'utf8' }).trim();
const startRatio = median(btStart) / median(tfStart);
const startUnstable = unstableBaseline('bpftrace\'s start-up time', btStart, 'ms');
if (startUnstable) flags.push(startUnstable);
const report = [
  `# Probe costs: tapfleet vs ${bpftraceVersion}`,
  '',
  `Run ${new Date().toISOString()} on ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, ${ROUNDS} rounds, medians. \`bash bench/probe-costs.sh ${process.argv.slice(2).join(' ')}\`.`,
  '',
  'Added ns = traced ns/op - untraced ns/op, measured inside the target (`test/fixtures/bench-tracee.c`), each round against its own untraced run. Both tools run as a user runs them, on the same events, and print to the same sink: `tapfleet run --json -c TARGET` and `bpftrace -e SCRIPT -c TARGET`, stdout a fresh file on tmpfs (/dev/shm) for each run (tapfleet writes one JSON line per event, bpftrace one printf line). Rounds interleave untraced, tapfleet and bpftrace, the two tools alternating which goes first. A ratio whose bpftrace cost moved more than 2x between rounds is flagged as not meaningful and not judged against its goal. A tool that lost events did less work per call than the other: its row says so. (Earlier runs compared USDT arguments read through libbpf\'s usdt.bpf.h as well; \`tapfleet run\` has no option for that compiler setting, and both tools now run as a user runs them.)',
  '',
  '| probe | calls | untraced ns/op | tapfleet added ns | bpftrace added ns | ratio | goal | lost events, all rounds (tapfleet / bpftrace, each tool\'s own count) |',
  '|---|---|---|---|---|---|---|---|',
  ...rows,
  '',
  ...(flags.length ? [...flags.map((f) => `**Flag:** ${f}.`), ''] : ['No baseline moved more than 2x between rounds.', '']),
  'Per round (in the order run):',
  '',
  '| probe | untraced ns/op | tapfleet added ns | bpftrace added ns | spread max/min (tapfleet / bpftrace) | lines tapfleet wrote | lines bpftrace wrote |',
  '|---|---|---|---|---|---|---|',
  ...roundRows,
  '',
  '| start-up and stop, 5 probes (tracepoint x2, uprobe, uretprobe, USDT) | tapfleet | bpftrace | ratio |',
  '|---|---|---|---|',
  `| exec -> all attached (ms; tapfleet loads a compiled object, bpftrace compiles) | ${median(tfStart).toFixed(1)} | ${median(btStart).toFixed(1)} | ${startRatio.toFixed(1)}x faster (goal >= 3x) |`,
  `| stop -> exited (ms) | ${median(tfStop).toFixed(1)} | ${median(btStop).toFixed(1)} | ${(median(btStop) / median(tfStop)).toFixed(1)}x |`,
  `| of which detaching its 6 links (uretprobe = entry + return) in parallel threads (ms) | ${median(tfDetach).toFixed(1)} | | |`,
  '',
  '| compile script -> signed bundle | ms |',
  '|---|---|',
  ...compileRows,
  '',
];
const text = report.join('\n');
process.stdout.write(`${text}\n`);
writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'probe-costs.md'), text);
figures.push(
  {
    what: 'start-up, exec -> 5 probes attached (tapfleet loads a compiled bundle)', value: Number(median(tfStart).toFixed(1)), unit: 'ms',
    baseline: { what: 'bpftrace (compiles its script)', value: Number(median(btStart).toFixed(1)) }, ratio: startRatio, ratioMeans: 'bpftrace / tapfleet (times faster)',
    goal: '>= 3x faster', ...(startUnstable ? { unstable: startUnstable } : { met: startRatio >= 3 }),
  },
  {
    what: 'stop -> exited, 5 probes', value: Number(median(tfStop).toFixed(1)), unit: 'ms',
    baseline: { what: 'bpftrace', value: Number(median(btStop).toFixed(1)) }, ratio: median(btStop) / median(tfStop), ratioMeans: 'bpftrace / tapfleet (times faster)',
  },
);
writeFigures({ bench: 'probe-costs', title: `Probe costs: tapfleet vs ${bpftraceVersion}`, ranAt: new Date().toISOString(), command: `bash bench/probe-costs.sh ${process.argv.slice(2).join(' ')}`.trim(), figures });
rmSync(SINK_DIR, { recursive: true, force: true });
