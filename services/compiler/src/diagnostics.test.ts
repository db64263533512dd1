import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileFixture, errorsOf } from './test-profile.test-fixtures.js';
import { formatDiagnostic } from './diagnostics.js';

const GW = '/opt/gw/bin/gateway';

/** [script, the one expected "line:col: message" (a prefix is enough)] per error class. */
const CASES: [string, string, string][] = [
  ['unexpected character', 'probe begin { print(@m); } `', '1:28: unexpected character \'`\''],
  ['unterminated string', 'probe tracepoint:sched:sched_switch { $x = "abc\n}', '1:44: unterminated string'],
  ['missing body', 'probe tracepoint:sched:sched_switch @x = count();', "1:37: expected '{' to open the probe body, found '@x'"],
  ['not a probe', 'prob tracepoint:sched:sched_switch {}', "1:1: expected a probe point, 'probe', 'alias', 'hop' or 'final', found 'prob'"],
  ['bad statement', 'probe tracepoint:sched:sched_switch { 42; }', "1:39: expected a statement, found '42'"],
  ['missing semicolon', 'probe tracepoint:sched:sched_switch { $a = 1 $b = 2; }', "1:46: expected ';' after the statement, found '$b'"],
  ['unknown probe kind', 'probe kfunc:vfs_read { @n = count(); }', "1:7: unknown probe kind 'kfunc'"],
  ['malformed tracepoint', 'probe tracepoint:sched { @n = count(); }', "1:7: 'tracepoint:sched' is not a tracepoint"],
  ['missing tracepoint', 'probe tracepoint:sched:sched_nope { @n = count(); }', '1:7: no tracepoint sched:sched_nope on kernel'],
  ['missing function', `probe uprobe:${GW}:nope { @n = count(); }`, `1:7: no function 'nope' in ${GW}`],
  ['missing USDT probe', `probe usdt:${GW}:gw:nope { @n = count(); }`, `1:7: no USDT probe gw:nope in ${GW}`],
  ['empty USDT name', `probe usdt:${GW}:gw: { @n = count(); }`, `1:7: 'usdt:${GW}:gw:' names no USDT probe: its provider or name is empty`],
  ['empty USDT provider and name', `probe usdt:${GW}:: { @n = count(); }`, `1:7: 'usdt:${GW}::' names no USDT probe: its provider or name is empty`],
  ['missing binary', 'probe uprobe:/no/such/bin:f { @n = count(); }', '1:7: no profile for binary /no/such/bin'],
  ['missing relative binary', 'probe uprobe:./no/such:f { @n = count(); }', "1:7: no ELF file './no/such' from the current directory"],
  ['bad interval', 'probe interval:5 { print(@n); }', "1:7: 'interval:5' is not an interval"],
  ['kprobe without kprobes', 'probe kprobe:do_sys_open { @n = count(); }', '1:7: kprobe probes are not supported by kernel'],
  ['unknown alias', 'probe postgres.nothing { @n = count(); }', "1:7: unknown probe point or alias 'postgres.nothing'"],
  ['unknown builtin', 'probe tracepoint:sched:sched_switch { @n[foo] = count(); }', "1:42: unknown identifier 'foo'"],
  ['retval outside uretprobe', `probe uprobe:${GW}:submit_order { @r = sum(retval); }`, '1:58: retval exists only in uretprobe probes'],
  ['arg in tracepoint', 'probe tracepoint:sched:sched_switch { @a = sum(arg0); }', '1:48: tracepoints have no arg0'],
  ['arg at return', `probe uretprobe:${GW}:submit_order { @a = sum(arg0); }`, '1:61: arg0 is gone by the time a function returns'],
  ['USDT arg out of range', `probe usdt:${GW}:gw:order__done { @a = sum(arg1); }`, '1:58: USDT probe gw:order__done has 1 argument(s), so no arg1'],
  ['missing tracepoint field', 'probe tracepoint:sched:sched_switch { @a = sum(args.nope); }', "1:48: tracepoint sched:sched_switch has no field 'nope'"],
  ['latency without entry', 'probe tracepoint:sched:sched_switch { @l = hist(latency); }', '1:49: latency needs a uretprobe or a paired start/end alias'],
  ['@entry in a plain probe', `probe uprobe:${GW}:submit_order { @e = sum(@entry(arg0)); }`, '1:58: @entry() needs a uretprobe or a paired start/end alias'],
  ['string too long', `probe uprobe:${GW}:submit_order { emit e { s: str(arg0, 999) } }`, '1:71: string length must be 1..256'],
  ['map kind conflict', 'probe tracepoint:sched:sched_switch { @m = count(); @m = sum(1); }', '1:53: @m holds count(), it cannot also hold sum()'],
  ['event fields differ', 'probe tracepoint:sched:sched_switch { emit e { a: 1 } emit e { b: 2 } }', '1:55: event e is emitted elsewhere with different fields'],
  ['an event from interval', 'probe interval:1s { emit e { a: 1 } }', '1:21: interval probes may write maps, print() or clear() them, printf() and exit(): emit is not supported there'],
  ['print in a kernel probe', 'probe tracepoint:sched:sched_switch { @n = count(); print(@n); }', '1:53: print() runs in user space'],
  ['undefined map', 'probe interval:1s { print(@nope); }', '1:21: no map @nope is assigned anywhere in this script'],
  ['string ordering', 'probe tracepoint:sched:sched_switch /comm < "x"/ { @n = count(); }', '1:38: strings can be compared with == and != only, not <'],
  ['string vs integer', 'probe tracepoint:sched:sched_switch /comm == 1/ { @n = count(); }', '1:38: cannot compare a string with an integer'],
  ['string literal too long', `probe tracepoint:sched:sched_switch /comm == "${'x'.repeat(300)}"/ { @n = count(); }`, '1:46: a string literal holds at most 255 bytes'],
  ['reserved field', 'probe tracepoint:sched:sched_switch { emit e { pid: 1 } }', '1:48: field name pid is reserved'],
  ['field named type', 'probe tracepoint:sched:sched_switch { emit e { type: 1 } }', '1:48: field name type is reserved: an event\'s JSON line uses it ("type":"event", "event": its name)'],
  ['field named __proto__', 'probe tracepoint:sched:sched_switch { emit e { __proto__: 1 } }', '1:48: field name __proto__ is reserved'],
  ['field named event', 'probe tracepoint:sched:sched_switch { emit e { event: 1 } }', '1:48: field name event is reserved: an event\'s JSON line uses it'],
  ['variable before assignment', 'probe tracepoint:sched:sched_switch { @n = sum($x); }', '1:48: $x is used before it is assigned'],
  ['aggregation arity', 'probe tracepoint:sched:sched_switch { @n = count(1); }', '1:44: count() takes 0 argument(s), got 1'],
  ['lhist too wide', 'probe tracepoint:sched:sched_switch { @n = lhist(1, 0, 100000, 1); }', '1:44: lhist would have more than 1000 buckets'],
  ['bad number', 'probe tracepoint:sched:sched_switch { @n = sum(10ms); }', "1:48: '10ms' is not a number"],
  ['no probes', '# nothing here\n', '1:1: the script has no probes'],
];

describe('diagnostics name the exact place and what was expected', () => {
  for (const [name, script, expected] of CASES) {
    test(name, () => {
      const errors = errorsOf(script);
      assert.ok(errors.some((e) => e.startsWith(expected)), `expected "${expected}", got:\n${errors.join('\n')}`);
    });
  }

  test('a diagnostic quotes the line and puts a caret under the column', () => {
    const d = compileFixture('probe tracepoint:sched:sched_switch {\n  @n[foo] = count();\n}').diagnostics[0]!;
    assert.equal(formatDiagnostic(d), [
      "script.tap:2:6: error: unknown identifier 'foo'",
      '    @n[foo] = count();',
      '       ^~~',
      '  builtins are pid tid uid cpu nsecs elapsed cgroup walltime comm retval latency probe func kstack ustack arg0..arg9 args.FIELD',
    ].join('\n'));
  });

  test('several errors in one run are all reported', () => {
    const errors = errorsOf('probe tracepoint:sched:sched_switch { @a = sum(arg0); @b = sum(retval); }\nprobe tracepoint:sched:nope { }\n');
    assert.equal(errors.length, 3, errors.join('\n'));
  });

  test('one cause, one error: a wrong expression is not reported again by the printf() it feeds', () => {
    for (const [script, expected] of [
      ['probe tracepoint:sched:sched_switch { printf("%s\\n", 1 ? "a" : 2); }', '1:54: both sides of ?: must be integers or both strings, not string[2] and int'],
      ['probe tracepoint:sched:sched_switch { printf("%s\\n", join(5)); }', '1:54: join() prints a line: it is a statement, not a value'],
    ]) {
      const errors = errorsOf(script!);
      assert.deepEqual(errors.map((e) => e.split('\n')[0]), [expected], errors.join('\n'));
    }
  });

  test('arguments inside a compound @entry() expression are read at entry, not refused', () => {
    assert.deepEqual(errorsOf(`probe uretprobe:${GW}:submit_order { emit e { x: @entry(arg0 + arg1 * 2), y: @entry(-arg1) } }`), []);
  });

  test('a per-probe statement limit is enforced', () => {
    const body = Array.from({ length: 1001 }, (_, i) => `$v${i} = ${i};`).join(' ');
    const errors = errorsOf(`probe tracepoint:sched:sched_switch { ${body} }`);
    assert.ok(errors.some((e) => e.includes('has more than 1000 statements')), errors.join('\n'));
  });
});

