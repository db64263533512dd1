import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS } from './limits.js';
import { compileFixture } from './test-profile.test-fixtures.js';

/** A small deterministic PRNG so a failure reproduces from its seed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32);
}

const OPS = ['+', '-', '*', '/', '%', '&', '|', '^', '<<', '>>', '<', '<=', '>', '>=', '==', '!=', '&&', '||'];
const LEAVES = ['1', 'pid', 'args.prev_pid', '$x', '0x10'];
const pick = <T>(list: readonly T[], next: () => number): T => list[Math.floor(next() * list.length)]!;

/** Expression shapes that nest `n` deep, each built without recursion (so the generator itself never overflows). */
const SHAPES: Record<string, (n: number, next: () => number) => string> = {
  parens: (n) => `${'('.repeat(n)}1${')'.repeat(n)}`,
  negations: (n) => `${'- '.repeat(n)}1`,
  nots: (n) => `${'!'.repeat(n)}pid`,
  complements: (n) => `${'~'.repeat(n)}1`,
  'left chain': (n, next) => Array.from({ length: n + 1 }, () => pick(LEAVES, next)).join(` ${pick(OPS.slice(0, 11), next)} `),
  // Precedence makes a mixed chain shallower than its length: only "no crash" is asserted.
  'mixed chain': (n, next) => Array.from({ length: n + 1 }, () => pick(LEAVES, next)).reduce((a, b) => `${a} ${pick(OPS, next)} ${b}`),
  'right nesting': (n) => `${'1 + ('.repeat(n)}1${')'.repeat(n)}`,
  calls: (n) => `${'u32('.repeat(n)}1${')'.repeat(n)}`,
  // Unbalanced parentheses are errors too; only "no crash" is asserted for this one.
  'unary soup': (n, next) => `${Array.from({ length: n }, () => pick(['-', '!', '~', '('], next)).join(' ')} 1`,
};

/** Statement shapes nesting `n` blocks deep. */
const BLOCKS: Record<string, (n: number) => string> = {
  'nested ifs': (n) => `${'if (pid) { '.repeat(n)}@a = count(); ${'} '.repeat(n)}`,
  'else-if chain': (n) => `if (pid == 0) { @a = count(); } ${Array.from({ length: n }, (_, i) => `else if (pid == ${i + 1}) { @a = count(); }`).join(' ')}`,
  'if/else nesting': (n) => `${'if (pid) { @a = count(); } else { '.repeat(n)}@a = count(); ${'} '.repeat(n)}`,
};

const SIZES = [LIMITS.maxExpressionDepth - 2, LIMITS.maxExpressionDepth + 1, 1_000, 20_000];
const BLOCK_SIZES = [LIMITS.maxBlockDepth - 2, LIMITS.maxBlockDepth + 1, 1_000, 20_000];

/** The front end must answer (code or diagnostics), never throw, with every diagnostic inside the text. */
function answer(text: string, label: string) {
  let r;
  try {
    r = compileFixture(text);
  } catch (e) {
    assert.fail(`${label}: the compiler threw ${(e as Error).message}`);
  }
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  assert.ok(errors.length <= LIMITS.maxErrors + 1, `${label}: ${errors.length} errors`);
  for (const d of r.diagnostics) assert.ok(d.span.start >= 0 && d.span.end <= text.length + 1 && d.span.end >= d.span.start, `${label}: span out of range`);
  assert.ok(r.c !== undefined || errors.length > 0, `${label}: neither code nor an error`);
  return { c: r.c, errors: errors.map((d) => d.message) };
}

const TP = 'probe tracepoint:sched:sched_switch';
/** Every place an expression may stand: map value, key, predicate, local, emit field, @entry, if condition. */
const PLACES: ((e: string) => string)[] = [
  (e) => `${TP} { $x = 1; @a = sum(${e}); }`,
  (e) => `${TP} { $x = 1; @a[${e}] = count(); }`,
  (e) => `${TP} /${e.replaceAll('/', '*')}/ { @a = count(); }`,
  (e) => `${TP} { $x = 1; $y = ${e}; @a = sum($y); }`,
  (e) => `${TP} { $x = 1; emit ev { f: ${e} } }`,
  (e) => `probe uretprobe:/opt/gw/bin/gateway:submit_order { $x = 1; @a = sum(@entry(${e.replaceAll('args.prev_pid', 'arg0')})); }`,
  (e) => `${TP} { $x = 1; if (${e}) { @a = count(); } }`,
];

test('deep expressions of every shape, in every place, at every size: code or a nesting diagnostic, never a crash', () => {
  const next = rng(9);
  for (const [name, shape] of Object.entries(SHAPES))
    for (const n of SIZES)
      PLACES.forEach((place, p) => {
        const label = `${name} x${n} in place ${p}`;
        const { c, errors } = answer(place(shape(n, next)), label);
        if (n > LIMITS.maxExpressionDepth && name !== 'unary soup' && name !== 'mixed chain') assert.ok(errors.some((m) => m.startsWith('expression nested more than')), `${label}: ${errors.join('; ')}`);
        // At the limit the later passes (typecheck, emit) walk the whole tree.
        if (n < LIMITS.maxExpressionDepth - 1 && errors.length === 0) assert.ok(c!.length > 0, label);
      });
});

test('deep blocks of every shape: code or a block diagnostic, never a crash', () => {
  for (const [name, shape] of Object.entries(BLOCKS))
    for (const n of BLOCK_SIZES) {
      const { c, errors } = answer(`${TP} { ${shape(n)} }\n${TP} { @z = count(); }`, `${name} x${n}`);
      if (n > LIMITS.maxBlockDepth) assert.ok(errors.some((m) => m.startsWith('blocks are nested more than')), `${name} x${n}: ${errors.join('; ')}`);
      else assert.equal(errors.length, 0, `${name} x${n}: ${errors.join('; ')}`), assert.ok(c);
    }
});

test('deep shapes in tapset-style alias bodies and unterminated deep input', () => {
  const n = 5_000;
  answer(`alias my.point = tracepoint:sched:sched_switch { $v = ${'('.repeat(n)}1${')'.repeat(n)}; }\nprobe my.point { @a = sum($v); }`, 'alias body');
  answer(`${TP} { @a = sum(${'('.repeat(n)}`, 'unterminated parens');
  answer(`${TP} { ${'if (1) { '.repeat(n)}`, 'unterminated blocks');
  answer(`${TP} { ${'{'.repeat(n)}`, 'stray braces');
  answer(`${TP} { emit e { ${Array.from({ length: n }, (_, i) => `f${i}: ${'-'.repeat(100)}1`).join(', ')} } }`, 'many deep fields');
});

test('random mixtures of deep and long pieces never crash the compiler', () => {
  const next = rng(17);
  const pieces = [
    () => '('.repeat(Math.floor(next() * 200)), () => ')'.repeat(Math.floor(next() * 200)), () => ' + 1'.repeat(Math.floor(next() * 300)),
    () => 'if (1) { '.repeat(Math.floor(next() * 60)), () => '} '.repeat(Math.floor(next() * 60)), () => '- '.repeat(Math.floor(next() * 200)),
    () => ' else if (1) { @a = count(); }'.repeat(Math.floor(next() * 60)), () => '@a = sum(1', () => '); ', () => 'u64(', () => '[', () => ']',
  ];
  for (let i = 0; i < 300; i++) {
    const body = Array.from({ length: 1 + Math.floor(next() * 12) }, () => pieces[Math.floor(next() * pieces.length)]!()).join('');
    answer(`${TP} { ${body} }`, `mixture #${i}`);
  }
});

test('wide shapes (tens of thousands of arguments, keys, fields, statements, points) are a diagnostic, never a crash', () => {
  const many = (f: (i: number) => string, sep = ', ', n = 100_000) => Array.from({ length: n }, (_, i) => f(i)).join(sep);
  const cases: [string, string, RegExp][] = [
    ['call arguments', `${TP} { @a = sum(u64(${many(() => '1')})); }`, /u64\(\) takes one pointer/],
    ['map keys', `${TP} { @a[${many(() => 'pid')}] = count(); }`, /the key of @a is \d+ bytes/],
    ['emit fields', `${TP} { emit e { ${many((i) => `f${i}: 1`, ', ', 60_000)} } }`, /event e is \d+ bytes/],
    ['statements', `${TP} { ${many(() => '@a = count();', ' ', 60_000)} }`, /this probe has more than 1000 statements/],
    // Distinct names: a point named twice attaches once (as the sweep of bpftrace's tools asked).
    ['probe points', `probe ${many((i) => `tracepoint:sched:s${i}`, ', ', 30_000)} { @a = count(); }`, /no tracepoint sched:s0 on kernel/],
  ];
  for (const [name, text, expected] of cases) {
    assert.ok(text.length <= LIMITS.maxScriptBytes, `${name}: ${text.length} bytes`);
    const { errors } = answer(text, name);
    assert.ok(errors.some((m) => expected.test(m)), `${name}: ${errors.slice(0, 3).join('; ')}`);
  }
});
