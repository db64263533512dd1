import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileBundle } from './compile-bundle.js';
import { compileBundleInWorker, compileWorkersStarted } from './worker-compile.js';
import { BuildTimeoutError } from './bundle/clang.js';
import { CompileError, formatDiagnostic } from './diagnostics.js';
import { LIMITS } from './limits.js';
import { TAPSETS_DIR, loadTapsets } from './tapsets.js';
import { FIXTURE_PROFILES } from './test-profile.test-fixtures.js';

const key = generateKeyPairSync('ed25519').privateKey;
const options = { tapsetsDir: TAPSETS_DIR, binaryPaths: { gw: '/opt/gw/bin/gateway' }, profiles: FIXTURE_PROFILES, signingKey: key };
const TP = 'probe tracepoint:sched:sched_switch';

test('a bundle built in a worker is the bundle built in place', async () => {
  const text = `${TP} { @n[args.prev_comm] = count(); }\nprobe uretprobe:/opt/gw/bin/gateway:submit_order { @l = hist(latency); }\n`;
  const [inWorker, inPlace] = [await compileBundleInWorker('w.tap', text, options), await compileBundle('w.tap', text, { ...options, tapsets: loadTapsets().aliases })];
  assert.equal(inWorker.manifest.bundleId, inPlace.manifest.bundleId);
  assert.deepEqual(inWorker.object, inPlace.object);
});

test('diagnostics come back with their positions and carets', async () => {
  const text = `${TP} {\n  @a = sum(${'('.repeat(100)}1${')'.repeat(100)});\n}\n`;
  await assert.rejects(compileBundleInWorker('w.tap', text, options), (e: unknown) => {
    assert.ok(e instanceof CompileError);
    const [d] = e.diagnostics;
    assert.equal(formatDiagnostic(d!).split('\n').slice(0, 1).join(), `w.tap:2:${12 + LIMITS.maxExpressionDepth}: error: expression nested more than ${LIMITS.maxExpressionDepth} levels deep`);
    assert.match(formatDiagnostic(d!).split('\n')[2]!, /^ +\^$/);
    return true;
  });
});

test('a clang timeout keeps its cause across the thread', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-worker-'));
  const sleepy = join(dir, 'clang');
  writeFileSync(sleepy, '#!/bin/sh\nsleep 600\n');
  chmodSync(sleepy, 0o755);
  await assert.rejects(compileBundleInWorker('w.tap', `${TP} { @n = count(); }\n`, { ...options, build: { clang: sleepy, timeoutMs: 300 } }), (e: unknown) => e instanceof CompileError && e.cause instanceof BuildTimeoutError && e.cause.timeoutMs === 300);
});

test('the caller\'s event loop turns while the front end works on a large script', async () => {
  // ~850 KB of legal statements, then an error on the last line: the front end is all the work.
  const body = Array(250).fill('@a[comm, pid] = sum(pid * 2 + 1);').join(' ');
  const text = `${Array.from({ length: 100 }, () => `${TP} { ${body} }`).join('\n')}\n${TP} { @b = sum(nope); }\n`;
  let settled = false;
  const answer = compileBundleInWorker('big.tap', text, options).catch((e: unknown) => e).finally(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'the compile finished within one turn of the event loop: it ran on it');
  const e = await answer;
  assert.ok(e instanceof CompileError);
  assert.match(e.message, /^big\.tap:101:48: error: unknown identifier 'nope'/);
});

test('one worker thread serves compile after compile (starting one per compile cost ~0.5 s each)', async () => {
  await compileBundleInWorker('a.tap', `${TP} { @a = count(); }\n`, options);
  const started = compileWorkersStarted();
  for (let i = 0; i < 3; i++) await compileBundleInWorker('b.tap', `${TP} { @b${i} = count(); }\n`, options);
  assert.equal(compileWorkersStarted(), started, 'no new thread for sequential compiles');
  const parallel = await Promise.all([1, 2].map((i) => compileBundleInWorker('c.tap', `${TP} { @c${i} = count(); }\n`, options)));
  assert.equal(parallel.length, 2);
  assert.ok(compileWorkersStarted() <= started + 1, 'two at once need at most one more thread');
});

test('the control plane\'s builds are deployments: exit() is refused there, printf() compiles', async () => {
  await assert.rejects(compileBundleInWorker('x.tap', `${TP} { exit(); }\n`, options), (e: unknown) => {
    assert.ok(e instanceof CompileError);
    assert.equal(formatDiagnostic(e.diagnostics[0]!).split('\n')[0], 'x.tap:1:39: error: exit() ends a tapfleet run; a deployment runs until it is stopped');
    return true;
  });
  const bundle = await compileBundleInWorker('p.tap', `${TP} { printf("%s\\n", args.next_comm); }\n`, options);
  assert.deepEqual(bundle.manifest.events.map((e) => [e.name, e.call?.fn]), [['printf_0', 'printf']]);
});
