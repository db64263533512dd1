import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { LIMITS } from './limits.js';
import { Source } from './source.js';
import { compileFixture, errorsOf } from './test-profile.test-fixtures.js';
import { formatDiagnostic } from './diagnostics.js';

const TP = 'probe tracepoint:sched:sched_switch';
const GW = '/opt/gw/bin/gateway';

/** `line:col` of the `n`th (1-based) occurrence of `needle` in `text`, as diagnostics print it. */
function at(text: string, needle: string, n = 1): string {
  let i = -1;
  for (let k = 0; k < n; k++) i = text.indexOf(needle, i + 1);
  assert.ok(i >= 0, `${needle} #${n} not in the script`);
  const { line, col } = new Source('x', text).position(i);
  return `${line}:${col}`;
}

/** Asserts the script's errors are exactly `expected` (each a `line:col: message` prefix). */
function expectErrors(text: string, ...expected: string[]): void {
  const errors = errorsOf(text);
  assert.equal(errors.length, expected.length, `expected ${expected.length} error(s), got:\n${errors.join('\n')}`);
  expected.forEach((e, i) => assert.ok(errors[i]!.startsWith(e), `expected "${e}", got "${errors[i]}"`));
}

describe('the runner and the compiler agree on their limits', () => {
  const runner = readFileSync(join(PROJECT_ROOT, 'agents', 'runner', 'native', 'runner.c'), 'utf8');
  const define = (name: string) => Number(new RegExp(`#define ${name} (\\d+)`).exec(runner)?.[1]);
  test('attach points, snapshot maps, scope pids', () => {
    assert.equal(define('MAX_ATTACH'), LIMITS.maxAttachPoints);
    assert.equal(define('MAX_MAPS'), LIMITS.maxMaps);
    assert.equal(define('MAX_SCOPE_PIDS'), LIMITS.maxScopePids);
  });
  test('the longest map name fits the runner\'s stdin command line', () => {
    const line = Number(/static char line\[(\d+)\];/.exec(runner)?.[1]);
    assert.ok(`clear m_${'x'.repeat(LIMITS.maxNameBytes)}\n`.length < line, `runner line buffer ${line}`);
  });
});

describe('nesting: every deep shape is one diagnostic at the place it crosses the limit', () => {
  const D = LIMITS.maxExpressionDepth;
  test('a 100,000-term sum', () => {
    const text = `${TP} { @a = sum(${Array(100_000).fill('1').join('+')}); }`;
    expectErrors(text, `${at(text, '+', D)}: expression nested more than ${D} levels deep`);
  });
  test('3,000 nested parentheses', () => {
    const text = `${TP} { @a = sum(${'('.repeat(3000)}1${')'.repeat(3000)}); }`;
    expectErrors(text, `${at(text, '(', D + 2)}: expression nested more than ${D} levels deep`); // sum( is the first
  });
  test('parentheses: depth 64 passes, 65 is refused', () => {
    assert.deepEqual(errorsOf(`${TP} { @a = sum(${'('.repeat(D - 1)}1${')'.repeat(D - 1)}); }`), []);
    assert.equal(errorsOf(`${TP} { @a = sum(${'('.repeat(D)}1${')'.repeat(D)}); }`).length, 1);
  });
  for (const op of ['-', '!', '~']) {
    test(`a chain of 5,000 unary ${op}`, () => {
      const text = `${TP} { @a = sum(${`${op} `.repeat(5000)}1); }`;
      expectErrors(text, `${at(text, op, D + 1)}: expression nested more than ${D} levels deep`);
    });
  }
  test('nested calls', () => {
    const text = `${TP} { @a = sum(${'u64('.repeat(1000)}1${')'.repeat(1000)}); }`;
    expectErrors(text, `${at(text, 'u64(', D + 1)}: expression nested more than ${D} levels deep`);
  });
  test('a deep map key', () => {
    const text = `${TP} { @a[${Array(500).fill('args.prev_pid').join(' * ')}] = count(); }`;
    expectErrors(text, `${at(text, '*', D)}: expression nested more than ${D} levels deep`);
  });
  test('a deep predicate', () => {
    const text = `${TP} /${Array(500).fill('args.prev_pid').join(' && ')}/ { @a = count(); }`;
    expectErrors(text, `${at(text, '&&', D)}: expression nested more than ${D} levels deep`);
  });
  test('a deep emit field, and the rest of the script still parses', () => {
    const text = `${TP} { emit e { a: ${Array(500).fill('1').join(' | ')}, b: 2 } @n = count(); }\n${TP} { @m = count(); }`;
    expectErrors(text, `${at(text, '|', D)}: expression nested more than ${D} levels deep`);
  });
  test('5,000 nested ifs', () => {
    const text = `${TP} { ${'if (1) { '.repeat(5000)}@a = count(); ${'} '.repeat(5000)}}`;
    expectErrors(text, `${at(text, '{', LIMITS.maxBlockDepth + 1)}: blocks are nested more than ${LIMITS.maxBlockDepth} deep`);
  });
  test('a 5,000-long else-if chain', () => {
    const text = `${TP} { if (1) { @a = count(); } ${Array(5000).fill('else if (1) { @a = count(); }').join(' ')} @b = count(); }`;
    expectErrors(text, `${at(text, 'if', LIMITS.maxBlockDepth)}: blocks are nested more than ${LIMITS.maxBlockDepth} deep (each else if is one level deeper)`);
  });
  test('nested blocks at the limit pass', () => {
    const n = LIMITS.maxBlockDepth - 1;
    assert.deepEqual(errorsOf(`${TP} { ${'if (1) { '.repeat(n)}@a = count(); ${'} '.repeat(n)}}`), []);
  });
});

describe('what the runner and the kernel would refuse is a diagnostic at the construct', () => {
  test('more than 256 probes', () => {
    const text = Array.from({ length: 600 }, () => `${TP} { @a = count(); }`).join('\n');
    expectErrors(text, `${LIMITS.maxProbes + 1}:1: this script has more than ${LIMITS.maxProbes} probes`, `${LIMITS.maxAttachPoints + 1}:7: probe points attach at more than`);
  });
  test('more than 512 attach points (a uretprobe takes two)', () => {
    const text = Array.from({ length: 129 }, () => `probe uretprobe:${GW}:submit_order, uretprobe:${GW}:risk_check { @a = count(); }`).join('\n');
    expectErrors(text, `129:7: probe points attach at more than ${LIMITS.maxAttachPoints} places: this one brings the total to 514`);
  });
  test('more than 64 maps', () => {
    const line = (from: number) => `${TP} { ${Array.from({ length: 40 }, (_, i) => `@m${from + i} = count();`).join(' ')} }`;
    const text = `${line(0)}\n${line(40)}`;
    expectErrors(text, `${at(text, '@m64 ')}: this script has more than ${LIMITS.maxMaps} maps`);
  });
  test('more than 59 maps in one probe', () => {
    const text = `${TP} { ${Array.from({ length: 61 }, (_, i) => `@m${i} = count();`).join(' ')} }`;
    expectErrors(text, `${at(text, '@m59 ')}: this probe uses more than ${LIMITS.maxMapsPerProbe} maps`);
  });
  test('a map key over 256 bytes', () => {
    const text = `probe tracepoint:syscalls:sys_enter_openat { @k[str(args.filename, 200), str(args.filename, 100)] = count(); }`;
    expectErrors(text, `1:46: the key of @k is 304 bytes, more than ${LIMITS.maxMapKeyBytes}`);
  });
  test('an event over 8 KiB', () => {
    const text = `probe tracepoint:syscalls:sys_enter_openat {\n  emit big { ${Array.from({ length: 33 }, (_, i) => `f${i}: str(args.filename, 255)`).join(', ')} }\n}`;
    expectErrors(text, `2:3: event big is ${40 + 33 * 255 + 1} bytes, more than ${LIMITS.maxEventBytes}`);
  });
  test('event and field names the bundle schema and ClickHouse refuse', () => {
    const text = `${TP} { emit Order { Price: 1, ok: 2 } }`;
    expectErrors(text, `${at(text, 'emit')}: event name 'Order' must be a lower-case identifier`, `${at(text, 'Price')}: field name 'Price' must be a lower-case identifier`);
  });
  test('a name longer than 64 characters', () => {
    const text = `${TP} { @${'m'.repeat(65)} = count(); }`;
    expectErrors(text, `${at(text, '@')}: name '@mmmmmmmmmmmmmmmmmmm...' is longer than ${LIMITS.maxNameBytes} characters`);
  });
});

describe('the compiler bounds its own work', () => {
  test('a script over 1,000,000 bytes is refused where the allowance ends, before parsing', () => {
    const line = `${TP} { @a = count(); }\n`;
    const text = line.repeat(Math.ceil((LIMITS.maxScriptBytes + 1) / line.length));
    const { line: l, col } = new Source('x', text).position(LIMITS.maxScriptBytes);
    expectErrors(text, `${l}:${col}: the script is longer than ${LIMITS.maxScriptBytes} bytes`);
  });
  test('100,000 stray characters are 100 errors and a note, not 100,000', () => {
    const errors = errorsOf(`${TP} { @a = count(); }\n${'`'.repeat(100_000)}`);
    assert.equal(errors.length, LIMITS.maxErrors + 1);
    assert.match(errors.at(-1)!, /more than 100 errors; the rest are not shown/);
  });
  test('the largest scripts the limits allow pass the front end in bounded time (measured, not asserted)', () => {
    // 256 probes of 1,000 statements each, every statement a depth-30 expression: ~1 MB.
    const stmt = `@a = sum(${Array(15).fill('args.prev_pid').join(' + ')});`;
    const body = Array(Math.floor(LIMITS.maxScriptBytes / 256 / (stmt.length + 1)) - 2).fill(stmt).join(' ');
    const text = Array.from({ length: 256 }, () => `${TP} { ${body} }`).join('\n');
    assert.ok(text.length <= LIMITS.maxScriptBytes);
    const started = performance.now();
    const r = compileFixture(text);
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
    process.stdout.write(`# front end on a ${text.length}-byte script: ${(performance.now() - started).toFixed(0)} ms, ${r.c!.length} bytes of C\n`);
  });
});

describe('diagnostics on a megabyte-long line stay small', () => {
  test('the quoted line is a window around the column, the caret under it', () => {
    const text = `${TP} { @a = sum(${Array(100_000).fill('1').join('+')}); }`;
    const d = compileFixture(text).diagnostics[0]!;
    const [head, quoted, caret] = formatDiagnostic(d).split('\n');
    assert.equal(head, `script.tap:${at(text, '+', LIMITS.maxExpressionDepth)}: error: expression nested more than ${LIMITS.maxExpressionDepth} levels deep`);
    assert.ok(quoted!.length < 200, `quoted ${quoted!.length} characters`);
    assert.match(quoted!, /^ {2}\.\.\..*\.\.\.$/);
    assert.equal(quoted![caret!.indexOf('^')], '+');
  });
});
