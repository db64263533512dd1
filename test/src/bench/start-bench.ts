/**
 * Start-up benchmark: how long a user waits from pressing Enter to the first event, tapfleet
 * against Debian's bpftrace in one run. Not a test: nothing here asserts.
 *
 *   node test/dist/bench/start-bench.js [--rounds N]
 *
 * A workload (test/fixtures/tracee.c `loop 500`: tf_add, USDT tftest:tick and getpid() every
 * 0.5 ms) runs throughout. Each round runs every contender once, in an order that rotates
 * between rounds, one at a time: tapfleet with the bundle in its compile cache, tapfleet with an
 * empty cache (it compiles), `bpftrace -e` (it always compiles), and the floor (start-floor.ts:
 * the least any Node program must do with a cached bundle, Node builtins only). Each run is timed
 * from spawn to its first event line on stdout, then stopped with SIGINT and waited for.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR, PROJECT_ROOT } from '@tapfleet/runtime';
import { RUNNER_BINARY } from '@tapfleet/runner';
import { compileCacheDir } from '@tapfleet/local';
import { median, spread, writeFigures, type Figure } from './figures.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' } } });
const ROUNDS = Number(values.rounds);
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);
const work = mkdtempSync(join(tmpdir(), 'tapfleet-start-bench-'));
/** tapfleet's own data dir: its compile cache is emptied for the cold runs, nobody else's. */
const DATA_DIR = join(work, 'data');
const binDir = join(DEFAULT_DATA_DIR, 'bench-bin');
mkdirSync(binDir, { recursive: true });
const BIN = join(binDir, 'start-tracee');
execFileSync('gcc', ['-O1', '-Wl,--build-id', '-o', BIN, join(PROJECT_ROOT, 'test', 'fixtures', 'tracee.c')]);
const TAPFLEET = join(PROJECT_ROOT, 'bin', 'tapfleet.js');
const LOOP_US = 500;

const workload = spawn(BIN, ['loop', String(LOOP_US)], { stdio: 'ignore' });
const WORKLOAD_PID = workload.pid!;

interface Case {
  name: string;
  tapfleet: string;
  bpftrace: string;
}
/** Each prints one line per hit starting with `first`: the line both tools are timed to. */
const CASES: Case[] = [
  { name: 'tracepoint (sys_enter_getpid, the workload\'s pid)', tapfleet: `probe tracepoint:syscalls:sys_enter_getpid /pid == ${WORKLOAD_PID}/ { emit first { n: 1 } }`, bpftrace: `tracepoint:syscalls:sys_enter_getpid /pid == ${WORKLOAD_PID}/ { printf("first\\n"); }` },
  { name: 'USDT (tftest:tick, one argument)', tapfleet: `probe usdt:${BIN}:tftest:tick { emit first { v: arg0 } }`, bpftrace: `usdt:${BIN}:tftest:tick { printf("first %d\\n", arg0); }` },
  { name: 'uprobe (tf_add, one argument)', tapfleet: `probe uprobe:${BIN}:tf_add { emit first { a: arg0 } }`, bpftrace: `uprobe:${BIN}:tf_add { printf("first %d\\n", arg0); }` },
];

/** Spawns argv and resolves with the ms from spawn to the first stdout line starting with `first` (the process is then stopped and awaited). */
function untilFirstLine(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
    let firstMs = 0;
    let out = '';
    let err = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      if (firstMs) return;
      out += d.toString();
      if (/^first\b/m.test(out)) {
        firstMs = performance.now() - t0;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.on('exit', () => {
      clearTimeout(guard);
      if (firstMs) resolve(firstMs);
      else reject(new Error(`${argv.slice(0, 3).join(' ')}... ended without an event: ${err}`));
    });
  });
}

/** Spawn -> exit, ms. */
function untilExit(argv: string[]): number {
  const t0 = performance.now();
  execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  return performance.now() - t0;
}

const tapfleetEnv = { ...process.env, TAPFLEET_DATA_DIR: DATA_DIR, TAPFLEET_LOG_LEVEL: 'warn' };
const scriptFile = (c: Case) => join(work, `${CASES.indexOf(c)}.tap`);
const tapfleetArgv = (c: Case) => [process.execPath, TAPFLEET, 'run', scriptFile(c)];
// -B line: bpftrace block-buffers a pipe, and its first line would arrive late or never.
const bpftraceArgv = (c: Case) => ['bpftrace', '-B', 'line', '-e', c.bpftrace];

type Contender = 'cached' | 'cold' | 'bpftrace' | 'floor';
const CONTENDERS: Contender[] = ['cached', 'cold', 'bpftrace', 'floor'];
const FLOOR = join(PROJECT_ROOT, 'test', 'dist', 'bench', 'start-floor.js');
/** The case's compile-cache entry (the newest: each cold run empties the cache and stores one). */
const cacheEntry = () => {
  const dir = compileCacheDir(DATA_DIR);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f));
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
};
const samples = new Map<string, number[]>();
const push = (key: string, ms: number) => samples.set(key, [...(samples.get(key) ?? []), ms]);
const loads: number[] = [loadavg()[0]!];

async function measure(c: Case, who: Contender): Promise<number> {
  if (who === 'bpftrace') return untilFirstLine(bpftraceArgv(c));
  if (who === 'floor') return untilFirstLine([process.execPath, FLOOR, cacheEntry(), RUNNER_BINARY]);
  if (who === 'cold') rmSync(compileCacheDir(DATA_DIR), { recursive: true, force: true });
  return untilFirstLine(tapfleetArgv(c), tapfleetEnv);
}

try {
  for (const c of CASES) {
    writeFileSync(scriptFile(c), `${c.tapfleet}\n`);
    // Unmeasured warm-up: the signing key is made, the page cache holds node, clang and bpftrace,
    // and the bundle is stored (a cold run empties the cache and stores it again).
    await measure(c, 'cold');
    await measure(c, 'bpftrace');
    for (let r = 0; r < ROUNDS; r++) {
      progress(`${c.name}: round ${r + 1}/${ROUNDS}`);
      for (let i = 0; i < CONTENDERS.length; i++) {
        const who = CONTENDERS[(r + i) % CONTENDERS.length]!;
        push(`${c.name}|${who}`, await measure(c, who));
      }
    }
  }
  for (let r = 0; r < ROUNDS * 2; r++) {
    if (r % 2) push('help', untilExit([process.execPath, TAPFLEET, '--help']));
    push('node', untilExit([process.execPath, '-e', '0']));
    if (!(r % 2)) push('help', untilExit([process.execPath, TAPFLEET, '--help']));
  }
  loads.push(loadavg()[0]!);
} finally {
  workload.kill('SIGKILL');
}

const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.9) - 1)]!;
const get = (k: string) => samples.get(k) ?? [];
const fmt = (x: number) => x.toFixed(0);
const rows: string[] = [];
const perRun: string[] = [];
const figures: Figure[] = [];
for (const c of CASES) {
  const bt = get(`${c.name}|bpftrace`);
  for (const [who, goal, bound] of [['cached', '<= 1.0x bpftrace', 1], ['cold', '<= 2.0x bpftrace', 2]] as const) {
    const tf = get(`${c.name}|${who}`);
    const ratio = median(tf) / median(bt);
    const unstable = spread(bt) > 2 ? `bpftrace moved ${spread(bt).toFixed(1)}x between rounds` : undefined;
    rows.push(`| ${c.name} | tapfleet, ${who === 'cached' ? 'bundle in the compile cache' : 'empty cache (compiles)'} | ${fmt(median(tf))} / ${fmt(p90(tf))} | ${fmt(median(bt))} / ${fmt(p90(bt))} | ${ratio.toFixed(2)}x | ${goal}: ${ratio <= bound ? 'met' : 'NOT met'}${unstable ? ` (${unstable})` : ''} |`);
    figures.push({
      what: `command start -> first event, ${c.name}, tapfleet run ${who === 'cached' ? 'with the bundle cached' : 'cold (empty compile cache)'}`, value: Math.round(median(tf)), unit: 'ms',
      baseline: { what: 'bpftrace -e, same script and workload, interleaved', value: Math.round(median(bt)) }, ratio, ratioMeans: 'tapfleet / bpftrace (p50)',
      goal, met: ratio <= bound, ...(unstable ? { unstable } : {}), note: `p90 ${fmt(p90(tf))} ms vs ${fmt(p90(bt))} ms`,
    });
  }
  // What no Node program gets under: how far the cached goal is from reach, in the same run.
  const floor = get(`${c.name}|floor`);
  rows.push(`| ${c.name} | the floor: a Node program doing only read cache entry -> spawn runner -> print (start-floor.ts) | ${fmt(median(floor))} / ${fmt(p90(floor))} | ${fmt(median(bt))} / ${fmt(p90(bt))} | ${(median(floor) / median(bt)).toFixed(2)}x | (no goal: the least any Node CLI can take) |`);
  figures.push({
    what: `command start -> first event, ${c.name}, the Node floor (builtins only: read the cached bundle, spawn the runner, print at its first output)`, value: Math.round(median(floor)), unit: 'ms',
    baseline: { what: 'bpftrace -e, same script and workload, interleaved', value: Math.round(median(bt)) }, ratio: median(floor) / median(bt), ratioMeans: 'floor / bpftrace (p50)',
    note: `tapfleet cached ${fmt(median(get(`${c.name}|cached`)))} ms: ${fmt(median(get(`${c.name}|cached`)) - median(floor))} ms above the floor`,
  });
  for (const who of CONTENDERS) perRun.push(`| ${c.name} | ${who} | ${get(`${c.name}|${who}`).map(fmt).join(', ')} |`);
}
const help = get('help'), node = get('node');
figures.push({
  what: '`tapfleet --help`, spawn -> exit', value: Math.round(median(help)), unit: 'ms',
  baseline: { what: '`node -e 0`, interleaved', value: Math.round(median(node)) }, ratio: median(help) / median(node), ratioMeans: 'tapfleet --help / node -e 0 (p50)',
});
const bpftraceVersion = execFileSync('bpftrace', ['--version'], { encoding: 'utf8' }).trim();
const text = [
  `# Start-up: command start -> first event, tapfleet vs ${bpftraceVersion}`,
  '',
  `Run ${new Date().toISOString()} on ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, ${ROUNDS} runs of each, load average ${loads.map((l) => l.toFixed(1)).join(' -> ')} (1 min, before -> after). \`bash bench/start.sh ${process.argv.slice(2).join(' ')}\`.`,
  '',
  `A workload (test/fixtures/tracee.c \`loop ${LOOP_US}\`) hits every probe every ${LOOP_US / 1000} ms throughout. Each run is timed from spawn to its first event line on stdout (\`tapfleet run FILE\`, text output; \`bpftrace -B line -e SCRIPT\`), then stopped with SIGINT and awaited before the next. Rounds rotate the order of the four contenders. "Cached": the bundle is in tapfleet's compile cache (<dataDir>/compile-cache); "cold": the cache is emptied first, so tapfleet compiles (front end and clang) as bpftrace always does. "Floor": test/src/bench/start-floor.ts, a Node program using builtins only that reads the cached bundle, spawns the runner and prints at the runner's first output; no tapfleet run can be faster, so it says how far the cached goal is from any Node CLI's reach.`,
  '',
  '| script | tapfleet | tapfleet ms p50 / p90 | bpftrace ms p50 / p90 | ratio (p50) | goal |',
  '|---|---|---|---|---|---|',
  ...rows,
  '',
  `| spawn -> exit | ms p50 / p90 |`,
  '|---|---|',
  `| \`tapfleet --help\` | ${fmt(median(help))} / ${fmt(p90(help))} |`,
  `| \`node -e 0\` | ${fmt(median(node))} / ${fmt(p90(node))} |`,
  '',
  'Every run, in the order measured (ms):',
  '',
  '| script | contender | runs |',
  '|---|---|---|',
  ...perRun,
  '',
].join('\n');
process.stdout.write(`${text}\n`);
writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'start.md'), text);
writeFigures({ bench: 'start', title: `Start-up: command start -> first event, tapfleet vs ${bpftraceVersion}`, ranAt: new Date().toISOString(), command: `bash bench/start.sh ${process.argv.slice(2).join(' ')}`.trim(), figures });
rmSync(work, { recursive: true, force: true });
