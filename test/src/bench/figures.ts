/**
 * The figures one benchmark hands to the report (`npm run bench` -> BENCHMARKS.md): each bench
 * process writes bench/results/NAME.json next to its NAME.md, and the report generator, another
 * process, reads them back through the same schema.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod/v3';
import { PROJECT_ROOT } from '@tapfleet/runtime';

export const Figure = z.object({
  /** What was measured, in words a reader of the report understands without the bench's source. */
  what: z.string().min(1),
  value: z.number().finite(),
  unit: z.string(),
  /** The comparison measured in the same run (same machine, same minutes). */
  baseline: z.object({ what: z.string().min(1), value: z.number().finite() }).optional(),
  /** How value compares with the baseline, as the bench defines it (stated in `ratioMeans`). */
  ratio: z.number().finite().optional(),
  ratioMeans: z.string().optional(),
  goal: z.string().optional(),
  /** Whether the goal was met; absent when the figure has no goal or it cannot be judged. */
  met: z.boolean().optional(),
  /**
   * Set when the baseline moved more than 2x between rounds of this run: then the ratio says
   * more about the machine's state than about either tool, and the report says so.
   */
  unstable: z.string().optional(),
  note: z.string().optional(),
});
export type Figure = z.infer<typeof Figure>;

export const BenchResult = z.object({
  bench: z.string().regex(/^[a-z-]+$/),
  title: z.string(),
  ranAt: z.string(),
  /** The command that produced it, with the options used. */
  command: z.string(),
  figures: z.array(Figure),
});
export type BenchResult = z.infer<typeof BenchResult>;

export const RESULTS_DIR = join(PROJECT_ROOT, 'bench', 'results');

/** Writes bench/results/BENCH.json (validated: a malformed figure fails the bench, not the report). */
export function writeFigures(r: BenchResult): void {
  writeFileSync(join(RESULTS_DIR, `${r.bench}.json`), `${JSON.stringify(BenchResult.parse(r), null, 2)}\n`);
}

export function readFigures(bench: string): BenchResult {
  return BenchResult.parse(JSON.parse(readFileSync(join(RESULTS_DIR, `${bench}.json`), 'utf8')));
}

/** max/min of positive samples: how far a figure moved between rounds (Infinity when one is <= 0). */
export function spread(xs: number[]): number {
  if (xs.length < 2) return 1;
  const lo = Math.min(...xs), hi = Math.max(...xs);
  return lo > 0 ? hi / lo : Infinity;
}

/** The instability flag for a baseline measured once per round, or undefined when it held within 2x. */
export function unstableBaseline(what: string, rounds: number[], unit: string): string | undefined {
  const s = spread(rounds);
  if (s <= 2) return undefined;
  const shown = rounds.map((x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1))).join(', ');
  return `${what} moved ${Number.isFinite(s) ? `${s.toFixed(1)}x` : 'across zero'} between rounds (${shown} ${unit}): the ratio is not meaningful`;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
