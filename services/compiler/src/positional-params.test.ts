import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIXTURE_PROFILES } from './test-profile.test-fixtures.js';
import { frontEnd } from './compile.js';
import { formatDiagnostic } from './diagnostics.js';
import { MAX_SCRIPT_PARAM_BYTES, MAX_SCRIPT_PARAMS, scriptParamsProblem as paramsProblem } from '@tapfleet/schemas';
import { paramNumber } from './passes/positional-params.js';
import { scriptTargets } from './compile-bundle.js';
import type { Expr } from './ast.js';

const SW = 'probe tracepoint:sched:sched_switch';

function compile(text: string, params: string[], purpose?: 'run' | 'deploy') {
  return frontEnd({ file: 'p.tap', text, kernel: FIXTURE_PROFILES.kernel, binaries: [], params, ...(purpose ? { purpose } : {}) });
}
const firstLines = (fe: ReturnType<typeof compile>) => fe.diagnostics.map((d) => formatDiagnostic(d).split('\n')[0]);

/** The constants a `begin` printf()'s arguments became: what the parameters were replaced by. */
function beginPrintfArgs(text: string, params: string[]) {
  const fe = compile(`${SW} { @n = count(); }\nprobe begin { ${text} }`, params);
  assert.equal(fe.diagnostics.filter((d) => d.severity === 'error').length, 0, firstLines(fe).join('\n'));
  return printfConstants(fe);
}
function printfConstants(fe: ReturnType<typeof compile>) {
  const begin = fe.probes.find((p) => p.points[0]!.target.kind === 'begin')!;
  const literal = (e: Expr) =>
    e.kind === 'int' ? { type: 'int', value: e.value.toString() }
    : e.kind === 'string' ? { type: 'str', value: e.value }
    : e.kind === 'unary' && e.expr.kind === 'int' ? { type: 'int', value: (-e.expr.value).toString() }
    : { type: 'not a constant', value: e.kind };
  return begin.body.flatMap((s) => (s.kind === 'printf' ? s.args.map(literal) : []));
}

test('$N is the word read as bpftrace 0.17 reads a number: decimal, 0x hex, a sign, leading blanks; int64 only', () => {
  const cases: [string, bigint | undefined][] = [
    ['1234', 1234n], [' 12', 12n], ['-0x10', -16n], ['007', 7n], ['+5', 5n], ['0', 0n],
    ['9223372036854775807', 2n ** 63n - 1n], ['-9223372036854775808', -(2n ** 63n)],
    // bpftrace: "$1 used numerically but given ..." for each of these.
    ['abc', undefined], ['12abc', undefined], ['1e3', undefined], ['', undefined], ['5 ', undefined], ['1_000', undefined],
    ['9223372036854775808', undefined], ['99999999999999999999', undefined],
    // Leading blanks are C's isspace() (bpftrace 0.17 takes "\t12" and "\v12"), not Unicode's: it refuses a no-break space or a BOM before the digits.
    ['\t12', 12n], ['\v12', 12n], ['\n12', 12n], ['\u00a012', undefined], ['\ufeff12', undefined], ['\u300012', undefined], ['\u202812', undefined],
  ];
  for (const [word, want] of cases) assert.equal(paramNumber(word), want, JSON.stringify(word));
});

test('$1, str($2), $# and str($1, N) become constants: a begin printf() carries them as literals', () => {
  assert.deepEqual(beginPrintfArgs('printf("%d %s %d\\n", $1, str($2), $#);', ['5', 'hi']), [
    { type: 'int', value: '5' }, { type: 'str', value: 'hi' }, { type: 'int', value: '2' },
  ]);
  assert.deepEqual(beginPrintfArgs('printf("%d %s\\n", $1, str($1));', ['-0x10']), [{ type: 'int', value: '-16' }, { type: 'str', value: '-0x10' }]);
  // bpftrace 0.17: str($1, 3) of "hello" prints "hel"; str($1) keeps 63 characters (its 64-byte strings).
  assert.deepEqual(beginPrintfArgs('printf("%s|%s\\n", str($1, 3), str($2));', ['hello', 'x'.repeat(100)]), [
    { type: 'str', value: 'hel' }, { type: 'str', value: 'x'.repeat(63) },
  ]);
});

test('a parameter not given reads as 0 (or "" in str()), as in bpftrace, with one warning per parameter at its first use', () => {
  const text = `probe begin { printf("%d [%s] %d\\n", $1, str($2), $#); }\n${SW} /pid == $1/ { @n = count(); }`;
  const fe = compile(text, []);
  assert.deepEqual(firstLines(fe), [
    'p.tap:1:38: warning: $1 is not given (0 parameter(s) were): it reads as 0, or "" in str()',
    'p.tap:1:46: warning: $2 is not given (0 parameter(s) were): it reads as 0, or "" in str()',
  ]);
  assert.match(formatDiagnostic(fe.diagnostics[1]!), /give it after the script: tapfleet run p\.tap VALUE1 VALUE2/);
  assert.ok(fe.c, 'warnings do not stop the compile');
  assert.deepEqual(printfConstants(fe), [{ type: 'int', value: '0' }, { type: 'str', value: '' }, { type: 'int', value: '0' }]);
});

test('a word that is not a number where a number is expected is an error at its first use, with the fix', () => {
  assert.deepEqual(firstLines(compile(`${SW} /pid == $1/ { @n[$1 + 1] = count(); }`, ['web'])), ['p.tap:1:45: error: $1 is used as a number, but was given "web"']);
  const fe = compile(`${SW} /pid == $1/ { @n[$2] = count(); }`, ['abc', '12abc']);
  assert.deepEqual(fe.diagnostics.map((d) => formatDiagnostic(d)), [
    ['p.tap:1:45: error: $1 is used as a number, but was given "abc"', `  ${SW} /pid == $1/ { @n[$2] = count(); }`, `${' '.repeat(46)}^~`, '  pass a number (decimal or 0x hex) as parameter 1, or read it as a string: str($1)'].join('\n'),
    ['p.tap:1:54: error: $2 is used as a number, but was given "12abc"', `  ${SW} /pid == $1/ { @n[$2] = count(); }`, `${' '.repeat(55)}^~`, '  pass a number (decimal or 0x hex) as parameter 2, or read it as a string: str($2)'].join('\n'),
  ]);
  assert.equal(fe.c, undefined);
});

test('a divisor that is the constant 0 (a literal, or a parameter given as 0) is an error: C makes it undefined, and clang folded 10 / 0 in a begin probe to -2^63', () => {
  assert.deepEqual(firstLines(compile(`${SW} { @d = args.prev_pid / $1; @m = args.prev_pid % $2; }`, ['0', '-0'])), [
    'p.tap:1:60: error: division by zero: the divisor is 0 (parameter $1)',
    'p.tap:1:85: error: division by zero: the divisor is 0 (parameter $2)',
  ]);
  assert.deepEqual(firstLines(compile('probe begin { @d = 10 / 0; }', [])), ['p.tap:1:25: error: division by zero: the divisor is 0']);
  assert.deepEqual(firstLines(compile(`${SW} { @d = args.prev_pid / $1; }`, ['0x10'])), []);
});

test('an index no one can give ($65 and beyond) is an error, not a placeholder per index in the hint (a 300 MB line for $30000000, a RangeError for $1e23)', () => {
  for (const n of ['65', '30000000', '99999999999999999999999']) {
    const fe = compile(`${SW} { @x = $${n}; @s = str($${n}); }`, ['1']);
    assert.deepEqual(firstLines(fe), [`p.tap:1:44: error: there is no $${n}: a script is given at most ${MAX_SCRIPT_PARAMS} positional parameters`, `p.tap:1:${56 + n.length}: error: there is no $${n}: a script is given at most ${MAX_SCRIPT_PARAMS} positional parameters`]);
    assert.ok(fe.diagnostics.every((d) => formatDiagnostic(d).length < 500));
  }
  assert.deepEqual(firstLines(compile(`${SW} { @x = $64; }`, [])), ['p.tap:1:44: warning: $64 is not given (0 parameter(s) were): it reads as 0, or "" in str()']);
});

test('a parameter used as a string compares in the kernel, and works as str()\'s length and lhist() bounds', () => {
  const fe = compile(`${SW} /args.prev_comm == str($1)/ { @h = lhist(args.prev_pid, 0, $2, $3); printf("%s\\n", str(args.prev_pid, $4)); }`, ['bash', '1000', '100', '16']);
  assert.deepEqual(firstLines(fe), []);
  assert.ok(fe.c?.includes("'b'") || fe.c?.includes('98'), 'the comparison is against the literal bash');
  assert.deepEqual(fe.lowered!.maps.get('@h')?.lhist, { lo: 0, hi: 1000, step: 100 });
});

test('$0 and assigning $1 are refused; a deployment must give every parameter its script reads (its warnings reach no one)', () => {
  assert.deepEqual(firstLines(compile(`${SW} { @n[$0] = count(); }`, ['1'])), ['p.tap:1:42: error: there is no $0: positional parameters are numbered from $1']);
  assert.deepEqual(firstLines(compile(`${SW} { $1 = 3; @n = count(); }`, ['1'])), ['p.tap:1:39: error: $1 is a positional parameter (a word given after the script), not a variable: it cannot be assigned']);
  const script = `${SW} /pid == $1/ { @n[$#] = count(); printf("%s\\n", str($2)); }`;
  assert.deepEqual(firstLines(compile(script, ['7'], 'deploy')), ['p.tap:1:88: error: $2 is not given (the deployment has 1 parameter(s)): a deployment must give every parameter its script reads']);
  assert.deepEqual(firstLines(compile(script, ['7', 'x'], 'deploy')), []);
});

test('parameters are bounded as the API bounds a deployment\'s: count, length, no NUL', () => {
  assert.equal(paramsProblem(['1', 'a']), undefined);
  assert.equal(paramsProblem(Array(MAX_SCRIPT_PARAMS + 1).fill('1')), 'at most 64 positional parameters');
  assert.equal(paramsProblem(['x'.repeat(MAX_SCRIPT_PARAM_BYTES + 1)]), 'parameter 1: a positional parameter is at most 4096 bytes, with no NUL');
  assert.equal(paramsProblem(['ok', 'a\0b']), 'parameter 2: a positional parameter is at most 4096 bytes, with no NUL');
  assert.deepEqual(firstLines(compile(`${SW} { @n = count(); }`, Array(65).fill('1'))), ['p.tap:1:1: error: at most 64 positional parameters']);
});

test('in probe points $N is the word, in any part; a period is read as a number (0x hex too); $name stays a binary', () => {
  const points = (text: string, params: string[]) => {
    const fe = compile(text, params);
    assert.deepEqual(firstLines(fe), []);
    return fe.probes.flatMap((p) => p.points.map((pt) => pt.target));
  };
  assert.deepEqual(points('probe tracepoint:$1:$2 { @n = count(); }', ['sched', 'sched_switch']).map((t) => t.kind === 'tracepoint' && t.event), ['sched_switch']);
  assert.deepEqual(points('probe $1:sched:sched_switch { @n = count(); }', ['tracepoint']).map((t) => t.kind), ['tracepoint']);
  assert.deepEqual(points('probe interval:ms:$1 { exit(); }', ['0x10']), [{ kind: 'interval', periodNs: 16_000_000, name: 'interval:ms:16' }]);
  assert.deepEqual(points('probe interval:$1:5 { exit(); }', ['s']), [{ kind: 'interval', periodNs: 5_000_000_000, name: 'interval:s:5' }]);
  assert.deepEqual(points('probe interval:$1ms { exit(); }', [' 7']), [{ kind: 'interval', periodNs: 7_000_000, name: 'interval:7ms' }]);
  assert.deepEqual(points('probe profile:hz:$1 { @n = count(); }', ['99']), [{ kind: 'profile', hz: 99 }]);
  // What a caller gathers profiles for: the binary the parameter names, next to a $name binary.
  assert.deepEqual(scriptTargets('p.tap', 'probe uprobe:$1:main, uprobe:$tool:$2, tracepoint:syscalls:sys_enter_$2 { @n = count(); }', [], { tool: '/usr/bin/tool' }, ['/opt/app', 'read']), {
    binaries: ['/opt/app', '/usr/bin/tool'], tracepoints: ['syscalls:sys_enter_read'],
  });
});

test('in probe points a missing parameter, $#, a word with : or $, and a bad period are one error each, at the $N', () => {
  const sw = 'probe tracepoint:sched:$1 { @n[$1] = count(); }';
  assert.deepEqual(firstLines(compile(sw, [])), ['p.tap:1:24: error: $1 is not given (0 parameter(s) were), and the probe point tracepoint:sched:$1 needs it'], 'not warned about again in the body');
  const deploy = compile(sw, [], 'deploy');
  assert.match(formatDiagnostic(deploy.diagnostics[0]!), /give it after the script: tapfleet deploy p\.tap VALUE1 /);
  assert.deepEqual(firstLines(compile('probe tracepoint:sched:$# { @n = count(); }', ['x'])), ['p.tap:1:24: error: $# (how many parameters were given) cannot be part of a probe point']);
  assert.deepEqual(firstLines(compile('probe tracepoint:sched:$0 { @n = count(); }', ['x'])), ['p.tap:1:24: error: there is no $0: a script is given at most 64 positional parameters, from $1']);
  assert.deepEqual(firstLines(compile('probe tracepoint:sched:$1 { @n = count(); }', ['a:b'])), ['p.tap:1:24: error: $1 is "a:b": a parameter fills in part of one probe point and cannot hold \':\' or \'$\'']);
  assert.deepEqual(firstLines(compile('probe uprobe:$1:main { @n = count(); }', ['$tool'])), ['p.tap:1:14: error: $1 is "$tool": a parameter fills in part of one probe point and cannot hold \':\' or \'$\'']);
  assert.deepEqual(firstLines(compile('probe interval:s:$1 { exit(); }', ['-1'])), ['p.tap:1:18: error: $1 is the period of interval:s:$1, a whole number of at least 1, but was given "-1"']);
});
