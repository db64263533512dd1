/**
 * The committed documentation stands on its own in any checkout: every relative link resolves to
 * a file of this repository (none reaches outside it, e.g. a team's design file beside the clone),
 * and no text carries the absolute path of the checkout it was written in (sample output pasted
 * from a real run must say `.tapfleet/...`, not `/home/someone/tapfleet/.tapfleet/...`).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '@tapfleet/runtime';

function markdownFiles(): string[] {
  const docs = join(PROJECT_ROOT, 'docs');
  const inDocs = readdirSync(docs, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => join(docs, f));
  return [join(PROJECT_ROOT, 'README.md'), join(PROJECT_ROOT, 'BENCHMARKS.md'), ...inDocs];
}

/** Link targets of `[text](target)`, without a `#fragment`, skipping URLs and pure fragments. */
function relativeLinks(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!.split('#')[0]!).filter((t) => t !== '' && !/^[a-z]+:/i.test(t));
}

test('every relative link in README.md, BENCHMARKS.md and docs/ points at a file inside the repository', () => {
  const problems: string[] = [];
  for (const file of markdownFiles()) {
    for (const target of relativeLinks(readFileSync(file, 'utf8'))) {
      const abs = resolve(dirname(file), target);
      const rel = relative(PROJECT_ROOT, abs);
      if (rel.startsWith('..')) problems.push(`${relative(PROJECT_ROOT, file)}: ${target} leaves the repository`);
      else if (!existsSync(abs)) problems.push(`${relative(PROJECT_ROOT, file)}: ${target} does not exist`);
    }
  }
  assert.deepEqual(problems, []);
});

/** A checkout's data dir under an absolute path (`/x/y/.tapfleet/...`): written where the sample was run, wrong everywhere else. */
const CHECKOUT_DATA_PATH = /(?:^|[\s`'"(=])(\/[^\s`'"()]+)\/\.tapfleet\//;

test('no committed document names the absolute path of a checkout (this one, or the one a sample was pasted from)', () => {
  const offenders = markdownFiles().flatMap((f) => {
    const text = readFileSync(f, 'utf8');
    const found = text.includes(PROJECT_ROOT) ? PROJECT_ROOT : CHECKOUT_DATA_PATH.exec(text)?.[1];
    return found ? [`${relative(PROJECT_ROOT, f)}: ${found}`] : [];
  });
  assert.deepEqual(offenders, []);
});
