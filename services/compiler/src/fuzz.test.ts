import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFixture } from './test-profile.test-fixtures.js';

/** A small deterministic PRNG so a failure reproduces from its seed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32);
}

const SEEDS = [
  'probe tracepoint:sched:sched_switch /args.prev_pid > 0/ { @n[args.prev_comm] = count(); @h = hist(args.prev_pid); }',
  'probe uretprobe:/opt/gw/bin/gateway:submit_order /retval == 0/ { @lat = hist(latency); emit order_sent { txn: @entry(arg0), took: latency, who: comm } }',
  'probe usdt:/opt/gw/bin/gateway:gw:order__start { if (arg1 > 3) { @big = count(); } else { @small = sum(arg1); } }',
  'probe tracepoint:sched:sched_switch { @lat = hist(args.prev_pid); @n = count(); }\nprobe interval:1s { print(@lat); clear(@lat); }\nprobe end { print(@n); }',
  'probe tracepoint:syscalls:sys_enter_openat { emit open { file: str(args.filename, 128), flags: args.flags } }',
];
const TOKENS = ['probe', 'alias', '{', '}', '(', ')', '/', ';', ',', '@m', '$x', '=', 'count()', 'hist(', 'emit', 'e', ':', 'arg0', 'retval', 'latency', '@entry(', 'str(', '"s"', '123', '0x1f', '&&', '||', '<<', 'if', 'else', 'print(', 'args.', 'tracepoint:sched:sched_switch', 'uprobe:/opt/gw/bin/gateway:risk_check', 'interval:10ms', '\n', ' ', '#c\n', '[', ']', '-', '!', '~'];

/** Returns whatever frontEnd did; it must not throw, and every diagnostic must point inside the text. */
function checkNoCrash(text: string, label: string): void {
  let result;
  try {
    result = compileFixture(text);
  } catch (e) {
    assert.fail(`${label}: the compiler threw ${(e as Error).stack}\n--- script ---\n${text}`);
  }
  for (const d of result.diagnostics) {
    assert.ok(d.span.start >= 0 && d.span.start <= text.length && d.span.end >= d.span.start, `${label}: diagnostic span out of range`);
    assert.ok(d.message.length > 0);
  }
  assert.ok(result.c !== undefined || result.diagnostics.some((d) => d.severity === 'error'), `${label}: neither code nor an error`);
}

test('fuzz: random token soups never crash the compiler', () => {
  const next = rng(1);
  for (let i = 0; i < 1500; i++) {
    const n = 1 + Math.floor(next() * 40);
    const text = Array.from({ length: n }, () => TOKENS[Math.floor(next() * TOKENS.length)]).join(' ');
    checkNoCrash(text, `random #${i}`);
  }
});

test('fuzz: mutated valid scripts (deletions, duplications, byte flips) never crash the compiler', () => {
  const next = rng(2);
  for (let i = 0; i < 3000; i++) {
    let text = SEEDS[i % SEEDS.length]!;
    const edits = 1 + Math.floor(next() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(next() * text.length);
      const len = 1 + Math.floor(next() * 8);
      const op = Math.floor(next() * 3);
      if (op === 0) text = text.slice(0, at) + text.slice(at + len);
      else if (op === 1) text = text.slice(0, at) + text.slice(at, at + len) + text.slice(at);
      else text = text.slice(0, at) + String.fromCharCode(32 + Math.floor(next() * 95)) + text.slice(at + 1);
    }
    checkNoCrash(text, `mutation #${i}`);
  }
});

test('every seed script compiles cleanly (so the mutations start from valid code)', () => {
  for (const s of SEEDS) {
    const r = compileFixture(s);
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), [], s);
  }
});
