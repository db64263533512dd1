/**
 * Probe-cost benchmark: tapfleet against Debian's bpftrace, side by side in one run.
 * Prints and writes bench/results/probe-costs.md. Not a test: nothing here asserts.
 *
 *   node test/dist/bench/probe-costs.js [--iterations N]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR, PROJECT_ROOT } from '@tapfleet/runtime';
import { compileBundle, runSession } from '@tapfleet/compiler';
import { RunnerProcess, whenReady } from '@tapfleet/runner';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '1000000' } } });
const N = Number(values.iterations);
const key = generateKeyPairSync('ed25519').privateKey;
const work = mkdtempSync(join(tmpdir(), 'tapfleet-bench-'));
const binDir = join(DEFAULT_DATA_DIR, 'bench-bin');
mkdirSync(binDir, { recursive: true });
const BIN = join(binDir, 'bench-tracee');
execFileSync('gcc', ['-O1', '-fno-omit-frame-pointer', '-mno-omit-leaf-frame-pointer', '-Wl,--build-id', '-o', BIN, join(PROJECT_ROOT, 'test', 'fixtures', 'bench-tracee.c')]);
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const outFile = () => join(work, `out-${Math.random().toString(36).slice(2)}`);
const perOp = (file: string) => Number(readFileSync(file, 'utf8'));

function baseline(mode: string, n: number): number {
  const f = outFile();
  execFileSync(BIN, [mode, String(n), f]);
  return perOp(f);
}

async function tapfleet(script: string, mode: string, n: number, usdtArgs?: 'libbpf'): Promise<{ ns: number; compileMs: number; events: number }> {
  const t0 = performance.now();
  const bundle = await compileBundle('bench.tap', script, { signingKey: key, ...(usdtArgs ? { usdtArgs } : {}) });
  const compileMs = performance.now() - t0;
  const f = outFile();
  const r = await runSession({ bundle, command: [BIN, mode, String(n), f] });
  return { ns: perOp(f), compileMs, events: r.events };
}

function bpftrace(script: string, mode: string, n: number): number {
  const f = outFile();
  const r = spawnSync('bpftrace', ['-e', script, '-c', `${BIN} ${mode} ${n} ${f}`], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bpftrace failed: ${r.stderr}`);
  return perOp(f);
}

interface Case {
  name: string;
  mode: string;
  n: number;
  tapfleet: string;
  bpftrace: string;
  goal: string;
  /** Compile USDT reads through libbpf's usdt.bpf.h instead of directly from the spec. */
  usdtArgs?: 'libbpf';
}
const CASES: Case[] = [
  { name: 'tracepoint, count', mode: 'getpid', n: N, tapfleet: 'probe tracepoint:syscalls:sys_enter_getpid { @n = count(); }', bpftrace: 'tracepoint:syscalls:sys_enter_getpid { @n = count(); }', goal: '<= 0.5x bpftrace' },
  { name: 'uprobe, count', mode: 'uprobe', n: N, tapfleet: `probe uprobe:${BIN}:bench_fn { @n = count(); }`, bpftrace: `uprobe:${BIN}:bench_fn { @n = count(); }`, goal: '<= 1x bpftrace' },
  { name: 'USDT, one argument emitted (read from the spec: default)', mode: 'usdt', n: N / 2, tapfleet: `probe usdt:${BIN}:tfbench:op { emit op { v: arg0 } }`, bpftrace: `usdt:${BIN}:tfbench:op { printf("%d\\n", arg0); }`, goal: '<= 1x bpftrace' },
  { name: 'USDT, one argument emitted (via usdt.bpf.h)', mode: 'usdt', n: N / 2, tapfleet: `probe usdt:${BIN}:tfbench:op { emit op { v: arg0 } }`, bpftrace: `usdt:${BIN}:tfbench:op { printf("%d\\n", arg0); }`, goal: 'compare with the row above', usdtArgs: 'libbpf' },
  {
    name: 'uretprobe, @entry + latency emitted', mode: 'uret', n: N / 2,
    tapfleet: `probe uretprobe:${BIN}:bench_ret { emit r { a: @entry(arg0), took: latency } }`,
    bpftrace: `uprobe:${BIN}:bench_ret { @s[tid] = nsecs; @a[tid] = arg0; } uretprobe:${BIN}:bench_ret /@s[tid]/ { printf("%d %d\\n", @a[tid], nsecs - @s[tid]); delete(@s[tid]); delete(@a[tid]); }`,
    goal: '<= 1x bpftrace',
  },
];

const ROUNDS = 3;
const rows: string[] = [];
const compileRows: string[] = [];
for (const c of CASES) {
  const base: number[] = [], tf: number[] = [], bt: number[] = [];
  let compileMs = 0;
  for (let r = 0; r < ROUNDS; r++) {
    progress(`${c.name}: round ${r + 1}/${ROUNDS}`);
    base.push(baseline(c.mode, c.n));
    const t = await tapfleet(c.tapfleet, c.mode, c.n, c.usdtArgs);
    tf.push(t.ns);
    compileMs = t.compileMs;
    bt.push(bpftrace(c.bpftrace, c.mode, c.n));
  }
  const b = median(base), t = median(tf) - b, p = median(bt) - b;
  rows.push(`| ${c.name} | ${c.n} | ${b.toFixed(1)} | ${t.toFixed(1)} | ${p.toFixed(1)} | ${(t / p).toFixed(2)} | ${c.goal} |`);
  compileRows.push(`| ${c.name} | ${compileMs.toFixed(0)} |`);
}

/** exec -> all probes attached, 5 probes (tracepoint, uprobe, uretprobe, 2 USDT). */
const FIVE_TF = `probe tracepoint:syscalls:sys_enter_getpid { @a = count(); }
probe uprobe:${BIN}:bench_fn { @b = count(); }
probe uretprobe:${BIN}:bench_ret { @c = count(); }
probe usdt:${BIN}:tfbench:op { @d = count(); }
probe tracepoint:sched:sched_switch { @e = count(); }`;
const FIVE_BT = `tracepoint:syscalls:sys_enter_getpid { @a = count(); } uprobe:${BIN}:bench_fn { @b = count(); } uretprobe:${BIN}:bench_ret { @c = count(); } usdt:${BIN}:tfbench:op { @d = count(); } tracepoint:sched:sched_switch { @e = count(); } BEGIN { printf("ready\\n"); }`;

async function tapfleetStartStop(): Promise<{ startMs: number; stopMs: number; detachMs: number }> {
  const bundle = await compileBundle('five.tap', FIVE_TF, { signingKey: key });
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
for (let r = 0; r < 5; r++) {
  progress(`start-up and stop: round ${r + 1}/5`);
  const t = await tapfleetStartStop();
  tfStart.push(t.startMs); tfStop.push(t.stopMs); tfDetach.push(t.detachMs);
  const b = await bpftraceStartStop();
  btStart.push(b.startMs); btStop.push(b.stopMs);
}

const bpftraceVersion = execFileSync('bpftrace', ['--version'], { encoding: 'utf8' }).trim();
const report = [
  `# Probe costs: tapfleet vs ${bpftraceVersion}`,
  '',
  `Run ${new Date().toISOString()} on ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, ${ROUNDS} rounds, medians. Added ns = traced ns/op - untraced ns/op, measured inside the target.`,
  '',
  '| probe | calls | untraced ns/op | tapfleet added ns | bpftrace added ns | ratio | goal |',
  '|---|---|---|---|---|---|---|',
  ...rows,
  '',
  '| start-up and stop, 5 probes (tracepoint x2, uprobe, uretprobe, USDT) | tapfleet | bpftrace | ratio |',
  '|---|---|---|---|',
  `| exec -> all attached (ms; tapfleet loads a compiled object, bpftrace compiles) | ${median(tfStart).toFixed(1)} | ${median(btStart).toFixed(1)} | ${(median(btStart) / median(tfStart)).toFixed(1)}x faster (goal >= 3x) |`,
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
