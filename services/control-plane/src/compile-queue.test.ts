import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompileQueue, CompileQueueFullError } from './compile-queue.js';

/** A job that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, job: async () => { await opened; return 'done'; } };
}

test('at most `concurrency` jobs run, `maxQueued` wait in order, the next is refused with Retry-After', async () => {
  const seen: string[] = [];
  let rejected = 0;
  const q = new CompileQueue({ concurrency: 1, maxQueued: 1, retryAfterS: 7 }, { changed: (r, w) => seen.push(`${r}/${w}`), rejected: () => rejected++ });
  const [a, b] = [gate(), gate()];
  const order: string[] = [];
  const ra = q.run(a.job).then((v) => order.push(`a ${v}`));
  const rb = q.run(b.job).then((v) => order.push(`b ${v}`));
  assert.deepEqual(q.stats, { running: 1, queued: 1 });
  await assert.rejects(q.run(async () => 'c'), (e: unknown) => e instanceof CompileQueueFullError && e.retryAfterS === 7 && /1 running, 1 waiting/.test(e.message));
  assert.equal(rejected, 1);
  b.open(); // b may not start before a finishes, whatever its own readiness
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, []);
  a.open();
  await Promise.all([ra, rb]);
  assert.deepEqual(order, ['a done', 'b done']);
  assert.deepEqual(q.stats, { running: 0, queued: 0 });
  assert.equal(seen.at(-1), '0/0');
});

test('a failing job frees its slot', async () => {
  const q = new CompileQueue({ concurrency: 1, maxQueued: 0, retryAfterS: 1 });
  await assert.rejects(q.run(async () => { throw new Error('clang broke'); }), /clang broke/);
  assert.equal(await q.run(async () => 'next'), 'next');
});
