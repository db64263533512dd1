/**
 * BENCHMARKS.md from the benches' figures: pure (no I/O), so its judgement of goals, ratios and
 * unstable baselines is testable on its own.
 */
import type { BenchResult, Figure } from './figures.js';

export interface Machine {
  nproc: number;
  model: string;
  memoryGiB: number;
  kernel: string;
}

export interface BenchRun {
  bench: string;
  script: string;
  args: string[];
  seconds: number;
  outcome: 'ok' | 'failed' | 'timed out';
  /** 1-minute load average when it started and when it ended: how busy the shared machine was. */
  load: [number, number];
  /** Last lines of its output when it did not finish. */
  error?: string;
  /** Not run this time (`--only ... --keep-others`): its figures are its last run's, of this date. */
  carriedFrom?: string;
}

export interface ReportInput {
  generatedAt: string;
  quick: boolean;
  totalSeconds: number;
  /** The sum of the benches' timeouts: the run's bound. */
  budgetMinutes: number;
  machine: Machine;
  versions: Record<string, string>;
  runs: BenchRun[];
  /** The figures of the benches that finished in this run (by bench name). */
  results: Map<string, BenchResult>;
}

export type Verdict = 'met' | 'NOT met' | 'not judged (baseline unstable)' | 'not judged' | '';

export function verdict(f: Figure): Verdict {
  if (!f.goal) return '';
  if (f.unstable) return 'not judged (baseline unstable)';
  if (f.met === undefined) return 'not judged';
  return f.met ? 'met' : 'NOT met';
}

const num = (x: number): string => {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
};

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function figureRow(f: Figure): string {
  const baseline = f.baseline ? `${num(f.baseline.value)} ${f.unit} (${f.baseline.what})` : '';
  const ratio = f.ratio === undefined ? '' : `${num(f.ratio)}${f.ratioMeans ? ` (${f.ratioMeans})` : ''}${f.unstable ? ', not meaningful' : ''}`;
  const v = verdict(f);
  const goal = f.goal ? `${f.goal}: **${v}**` : '';
  const notes = [f.note, f.unstable ? `flag: ${f.unstable}` : undefined].filter(Boolean).join('; ');
  return `| ${cell(f.what)} | ${num(f.value)} ${cell(f.unit)} | ${cell(baseline)} | ${cell(ratio)} | ${cell(goal)} | ${cell(notes)} |`;
}

export function renderReport(o: ReportInput): string {
  const all = [...o.results.values()].flatMap((r) => r.figures);
  const count = (v: Verdict) => all.filter((f) => verdict(f) === v).length;
  const unstable = all.filter((f) => f.unstable);
  const carried = o.runs.filter((r) => r.carriedFrom);
  const out: string[] = [
    '# Benchmarks',
    '',
    `Generated ${o.generatedAt} by \`npm run bench${o.quick ? ' -- --quick' : ''}${carried.length ? ` -- --only ${o.runs.filter((r) => !r.carriedFrom).map((r) => r.bench).join(',')} --keep-others` : ''}\` in ${Math.round(o.totalSeconds / 60)} min (${o.quick ? 'quick: fewer rounds and smaller sizes; figures are indicative only' : 'the full run; `npm run bench -- --quick` takes about a quarter of the time'}), the benchmarks one at a time, each stopped at its timeout (${o.budgetMinutes} min in all at most). ${carried.length ? `Only ${o.runs.filter((r) => !r.carriedFrom).map((r) => r.bench).join(', ')} ran this time; ${carried.map((r) => r.bench).join(', ')} ${carried.length === 1 ? 'is' : 'are'} carried over from ${carried.length === 1 ? 'its' : 'their'} own last run (each section says when). ` : ''}Every figure and its baseline come from one run of its bench, on this machine, measured minutes apart; each bench's raw result is linked.`,
    '',
    `Machine: ${o.machine.nproc} vCPU (${o.machine.model}), ${o.machine.memoryGiB.toFixed(1)} GiB memory, kernel ${o.machine.kernel}. Shared with other work: figures are medians and ratios are within one run.`,
    '',
    `Versions: ${Object.entries(o.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
    `Goals: ${count('met')} met, ${count('NOT met')} not met, ${count('not judged (baseline unstable)')} not judged because their baseline moved more than 2x between rounds, ${count('not judged')} not judged otherwise (e.g. a quick run's sizes).`,
    '',
  ];
  if (unstable.length) {
    out.push('**Flagged baselines** (moved more than 2x between rounds: the ratio says more about the machine than about the tools):', '');
    for (const f of unstable) out.push(`- ${f.what}: ${f.unstable}`);
    out.push('');
  }
  for (const run of o.runs) {
    const r = o.results.get(run.bench);
    out.push(`## ${r?.title ?? run.bench}`, '');
    const raw = `Raw result: [bench/results/${run.bench}.md](bench/results/${run.bench}.md) ([figures](bench/results/${run.bench}.json)).`;
    if (run.carriedFrom) out.push(`**Not rerun in this run**: its figures are from its own last run, ${run.carriedFrom} (\`${r?.command ?? `bash ${run.script}`}\`), with baselines from that run. ${raw}`, '');
    else out.push(`\`${[`bash ${run.script}`, ...run.args].join(' ')}\`, ${Math.round(run.seconds)} s, load average ${run.load[0].toFixed(1)} at its start and ${run.load[1].toFixed(1)} at its end (${o.machine.nproc} vCPU). ${raw}`, '');
    if (run.outcome !== 'ok' || !r) {
      out.push(`**${run.outcome === 'ok' ? 'wrote no figures' : run.outcome}**${run.error ? `:\n\n\`\`\`\n${run.error}\n\`\`\`` : ''}`, '');
      continue;
    }
    out.push('| figure | value | baseline (same run) | ratio | goal | notes |', '|---|---|---|---|---|---|');
    for (const f of r.figures) out.push(figureRow(f));
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
