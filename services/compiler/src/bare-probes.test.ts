import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileFixture, errorsOf } from './test-profile.test-fixtures.js';
import { parse } from './parser.js';
import { Diagnostics } from './diagnostics.js';
import { Source } from './source.js';

/** The points each probe of `text` names, as the parser reads them, or the parse errors. */
function pointsOf(text: string): string[][] | string[] {
  const diags = new Diagnostics();
  const script = parse(new Source('script.tap', text), diags);
  const errors = diags.items.filter((d) => d.severity === 'error').map((d) => `${d.message}`);
  return errors.length ? errors : script.probes.map((p) => p.points.map((x) => x.text));
}

describe('probe clauses without the probe keyword, as bpftrace writes them', () => {
  const SAME: [string, string, string[][]][] = [
    ['a tracepoint', 'tracepoint:sched:sched_switch { @n = count(); }', [['tracepoint:sched:sched_switch']]],
    ['a short kind with a predicate', 't:syscalls:sys_enter_read /pid == 1/ { @n = count(); }', [['t:syscalls:sys_enter_read']]],
    ['BEGIN and END are begin and end', 'BEGIN { @x = 1; } END { print(@x); }', [['begin'], ['end']]],
    ['begin and end in lower case', 'begin { @x = 1; } end { print(@x); }', [['begin'], ['end']]],
    ['several points', 'tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new { @ = count(); }', [['tracepoint:sched:sched_wakeup', 'tracepoint:sched:sched_wakeup_new']]],
    ['interval and profile', 'interval:s:1 { exit(); } profile:hz:99 { @[kstack] = count(); } i:ms:5 { exit(); }', [['interval:s:1'], ['profile:hz:99'], ['i:ms:5']]],
    ['uprobe, uretprobe and usdt paths', 'uprobe:/bin/bash:readline { } ur:/bin/bash:readline { } usdt:/opt/gw/bin/gateway:gw:order__done { }', [['uprobe:/bin/bash:readline'], ['ur:/bin/bash:readline'], ['usdt:/opt/gw/bin/gateway:gw:order__done']]],
    ['a tapset alias point', 'sched.switch { @[$next_comm] = count(); }', [['sched.switch']]],
    ['a one-word alias before its body', 'alias myread = tracepoint:syscalls:sys_enter_read\nmyread { @n = count(); }', [['myread']]],
    ['a point named like a keyword', 'hop.out { } final.x { }', [['hop.out'], ['final.x']]],
    ['mixed with probe', 'probe BEGIN { @x = 1; }\ntracepoint:sched:sched_switch { @n = count(); }\nprobe END { print(@n); }', [['begin'], ['tracepoint:sched:sched_switch'], ['end']]],
  ];
  for (const [name, text, points] of SAME) test(`parsed: ${name}`, () => assert.deepEqual(pointsOf(text), points));

  test('hop and final declarations still parse as declarations', () => {
    const diags = new Diagnostics();
    const script = parse(new Source('script.tap', 'hop risk = gateway_out -> risk_in;\nfinal match_ack;\nprobe begin { }'), diags);
    assert.deepEqual(diags.items, []);
    assert.equal(script.hops.length, 1);
    assert.equal(script.finals.length, 1);
    assert.equal(script.probes.length, 1);
  });

  test('a script with and one without probe compile to the same C', () => {
    const bare = compileFixture('BEGIN { @x = 2; }\ntracepoint:sched:sched_switch /pid == @x/ { @n[comm] = count(); }\nEND { print(@n); }');
    const kw = compileFixture('probe begin { @x = 2; }\nprobe tracepoint:sched:sched_switch /pid == @x/ { @n[comm] = count(); }\nprobe end { print(@n); }');
    assert.deepEqual(bare.diagnostics, []);
    assert.equal(bare.c, kw.c);
  });

  /** [name, script, the one expected "line:col: message" (a prefix)]: one cause, one diagnostic. */
  const ONE_CAUSE: [string, string, string][] = [
    ['a stray word before a point', 'prob tracepoint:sched:sched_switch { }', "1:1: expected a probe point, 'probe', 'alias', 'hop' or 'final', found 'prob'"],
    ['an unknown one-word point', 'foo { @n = count(); }', "1:1: unknown probe point or alias 'foo'"],
    ['an unknown kind without probe', 'kfunc:vfs_read { @n = count(); }', "1:1: unknown probe kind 'kfunc'"],
    ['a missing tracepoint without probe', 'tracepoint:sched:sched_nope { @n = count(); }', '1:1: no tracepoint sched:sched_nope on kernel'],
    ['a bad statement, then a good clause', 'tracepoint:sched:sched_switch { 42; }\nBEGIN { @x = 1; }', "1:33: expected a statement, found '42'"],
    ['a missing body, then a good clause', 'tracepoint:sched:sched_switch @x = count();\nEND { }', "1:31: expected '{' to open the probe body, found '@x'"],
  ];
  for (const [name, script, expected] of ONE_CAUSE)
    test(`one diagnostic: ${name}`, () => {
      const errors = errorsOf(script);
      assert.equal(errors.length, 1, `expected one error, got:\n${errors.join('\n')}`);
      assert.ok(errors[0]!.startsWith(expected), `expected "${expected}", got:\n${errors[0]}`);
    });

  test('the stray-word diagnostic says what a probe looks like', () => {
    const d = compileFixture('prob tracepoint:sched:sched_switch { }').diagnostics[0]!;
    assert.match(d.hint!, /POINT \[, POINT\] \[\/predicate\/\] \{ \.\.\. \}/);
  });
});

describe('a probe body left open', () => {
  // One cause, one diagnostic: each later probe was "expected a statement, found 'tracepoint'" (or 'END', 'probe'),
  // then "expected '}' ... found end of file" at the end, four errors for one missing brace.
  test('is one error where the next probe starts, naming the block, and the probes after it are read', () => {
    const text = 'tracepoint:sched:sched_switch { @x = count();\ntracepoint:sched:sched_process_exec { @y = count(); }\nEND { print(@x); }';
    assert.deepEqual(errorsOf(text), ["2:1: expected '}' to close the block opened at 1:31 before the next probe"]);
    const diags = new Diagnostics();
    const script = parse(new Source('script.tap', text), diags);
    assert.deepEqual(script.probes.map((p) => p.points.map((x) => x.text)), [['tracepoint:sched:sched_switch'], ['tracepoint:sched:sched_process_exec'], ['end']]);
    assert.deepEqual(errorsOf('probe begin { if (1) { @x = 1; }\nprobe end { print(@x); }'), ["2:1: expected '}' to close the block opened at 1:13 before the next probe"]);
    assert.deepEqual(errorsOf('BEGIN { @x = 1;\nEND { print(@x); }'), ["2:1: expected '}' to close the block opened at 1:7 before the next probe"]);
  });
});
