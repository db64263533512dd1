import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { matchPointPattern } from '@tapfleet/schemas';
import { compileFixture, errorsOf } from './test-profile.test-fixtures.js';
import { parse } from './parser.js';
import { Diagnostics } from './diagnostics.js';
import { Source } from './source.js';

const GW = '/opt/gw/bin/gateway';

describe('probe point patterns and the probe builtin', () => {
  test('* matches within one part, never across :', () => {
    const names = ['sched:sched_switch', 'sched:sched_stat_runtime', 'syscalls:sys_enter_read', 'sched:x'];
    assert.deepEqual(matchPointPattern('sched:sched_s*', names), ['sched:sched_switch', 'sched:sched_stat_runtime']);
    assert.deepEqual(matchPointPattern('s*', names), []);
    assert.deepEqual(matchPointPattern('*:sys_enter_*', names), ['syscalls:sys_enter_read']);
    assert.deepEqual(matchPointPattern('sched:sched.switch', names), [], '. is no wildcard');
  });

  // The timeout only stops a hang: the RegExp this replaced backtracked through every split of
  // the name among the 13 runs of [^:]* (minutes per name), where the walk is linear.
  test('a pattern of many stars is matched at once, as bpftrace lists it', { timeout: 60_000 }, () => {
    const names = ['syscalls:sys_enter_clock_nanosleep', 'syscalls:sys_enter_sched_rr_get_interval', 'sched:sched_switch', 'syscalls:sys_enter_Q'];
    assert.deepEqual(matchPointPattern(`syscalls:*${'*'.repeat(12)}Q`, names), ['syscalls:sys_enter_Q']);
    assert.deepEqual(matchPointPattern(`*${'*_'.repeat(12)}*Q`.replace(/^/, 'syscalls:'), names), []);
    assert.deepEqual(matchPointPattern('**:**', names), names, '** is *');
    assert.deepEqual(matchPointPattern('sys*:*_*_*_*', names), ['syscalls:sys_enter_clock_nanosleep', 'syscalls:sys_enter_sched_rr_get_interval']);
    assert.deepEqual(matchPointPattern('*:*switch*', names), ['sched:sched_switch']);
    assert.deepEqual(matchPointPattern('*', names), [], 'one part never matches two');
    assert.deepEqual(matchPointPattern('a*a*b', ['aab', 'ab', 'aaab', 'aba']), ['aab', 'aaab']);
    assert.deepEqual(matchPointPattern('*', ['', 'x']), ['', 'x']);
  });

  test('a tracepoint pattern is one program per match, each its own classic tracepoint, probe its full name', () => {
    const fe = compileFixture('tracepoint:sched:sched_* { @[probe] = count(); }\nt:syscalls:sys_enter_* { printf("%s\\n", probe); }');
    assert.deepEqual(fe.diagnostics.filter((d) => d.severity === 'error'), []);
    const points = fe.probes.map((p) => p.points.map((x) => x.target.kind === 'tracepoint' ? `${x.target.category}:${x.target.event}${x.target.syscallNr !== undefined ? ' raw' : ''}` : x.target.kind));
    assert.deepEqual(points, [['sched:sched_process_exec', 'sched:sched_switch'], ['syscalls:sys_enter_getpid', 'syscalls:sys_enter_openat']]);
    assert.deepEqual(points.flat().filter((p) => p.endsWith(' raw')), [], 'a match attaches to its own tracepoint, not the raw sys_enter');
    const bytes = (s: string) => [...Buffer.from(s), 0].map((b, i) => `tf_k.k0[${i}] = ${b};`).join(' ');
    assert.ok(fe.c!.includes(bytes('tracepoint:sched:sched_switch')), 'probe is the point\'s name, written into the key');
  });

  test('a uprobe pattern matches the binary\'s functions', () => {
    const fe = compileFixture(`uprobe:${GW}:*_order { @[probe] = count(); }\nur:${GW}:risk* { @[probe] = count(); }`);
    assert.deepEqual(fe.diagnostics.filter((d) => d.severity === 'error'), []);
    assert.deepEqual(fe.probes.map((p) => p.points.map((x) => x.target.kind === 'uprobe' || x.target.kind === 'uretprobe' ? `${x.target.kind}:${x.target.symbol}` : '')), [['uprobe:submit_order'], ['uretprobe:risk_check']]);
  });

  const ONE_CAUSE: [string, string, string][] = [
    ['a tracepoint pattern matching nothing', 'tracepoint:sched:nope_* { @[probe] = count(); }', '1:1: no tracepoint matches tracepoint:sched:nope_* on kernel'],
    ['a uprobe pattern matching nothing', `uprobe:${GW}:nope* { @n = count(); }`, `1:1: no function matches uprobe:${GW}:nope* in ${GW}`],
    ['probe in a profile:ms point', 'profile:ms:10 { printf("%s\\n", probe); }', '1:32: probe names a profile point only as profile:hz:N'],
    ['a field only some matches have', 't:syscalls:sys_enter_* { @[probe] = sum(args->filename); }', "1:41: tracepoint syscalls:sys_enter_getpid has no field 'filename'"],
  ];
  for (const [name, script, expected] of ONE_CAUSE)
    test(`one diagnostic: ${name}`, () => {
      const errors = errorsOf(script);
      assert.equal(errors.length, 1, `expected one error, got:\n${errors.join('\n')}`);
      assert.ok(errors[0]!.startsWith(expected), `expected "${expected}", got:\n${errors[0]}`);
    });
});

describe('stats()', () => {
  test('is avg()\'s sum and count per CPU, in the manifest as kind stats', () => {
    const fe = compileFixture('tracepoint:sched:sched_switch { @s[comm] = stats(args->prev_pid); }');
    assert.deepEqual(fe.diagnostics.filter((d) => d.severity === 'error'), []);
    assert.equal(fe.analysis!.maps.get('@s')!.kind, 'stats');
    assert.match(fe.c!, /tf_v->sum \+= .*;\n\s*tf_v->count \+= 1;/);
  });
  test('takes one argument', () => {
    assert.equal(errorsOf('tracepoint:sched:sched_switch { @s = stats(); }').length, 1);
  });
});

describe('integer literals', () => {
  const value = (text: string) => {
    const diags = new Diagnostics();
    const s = parse(new Source('script.tap', `probe begin { @x = ${text}; }`), diags).probes[0]!.body[0]!;
    assert.deepEqual(diags.items, []);
    return s.kind === 'assign' && s.value.kind === 'int' ? s.value.value : undefined;
  };
  test('1e6, 5e9, 1_000_000, 0x1e3 (hex has no exponent), 9e16 and 2^64-1 as bpftrace 0.17 reads them', () => {
    assert.equal(value('1e6'), 1_000_000n);
    assert.equal(value('5e9'), 5_000_000_000n);
    assert.equal(value('1_000_000'), 1_000_000n);
    assert.equal(value('0x1e3'), 0x1e3n);
    assert.equal(value('9e16'), 9n * 10n ** 16n);
    assert.equal(value('18446744073709551615'), 2n ** 64n - 1n);
    assert.equal(value('18_446_744_073_709_551_615'), 2n ** 64n - 1n);
  });
  // Side by side: bpftrace -e 'BEGIN { printf("%lu\n", 0644); exit(); }' prints 420, and 1E3 1000;
  // tapfleet read 0644 as 644 (a bpftrace script's args->mode == 0644 silently compared with 644) and refused 1E3.
  test('a leading 0 is octal and E an exponent, as bpftrace 0.17 reads them', () => {
    assert.equal(value('0644'), 0o644n);
    assert.equal(value('010'), 8n);
    assert.equal(value('0_17'), 0o17n);
    assert.equal(value('00'), 0n);
    assert.equal(value('0'), 0n);
    assert.equal(value('1E3'), 1000n);
    assert.equal(value('00_1e1'), 10n);
  });
  const ONE_CAUSE: [string, string][] = [
    // bpftrace 0.17: "Coefficient part of scientific literal must be in range (0,9), got: 10" and
    // "Exponent will overflow integer range: 17"; tapfleet took 10e18 and 1e19 (a reviewer's find).
    ['10e18', "1:20: '10e18': the digits before the exponent must be one digit, 0 to 9, not 10"],
    ['1_000e3', "1:20: '1_000e3': the digits before the exponent must be one digit, 0 to 9, not 1000"],
    ['1e17', "1:20: '1e17': the exponent must be at most 16, not 17"],
    ['1e19', "1:20: '1e19': the exponent must be at most 16, not 19"],
    ['1e99999999999', "1:20: '1e99999999999': the exponent must be at most 16, not 99999999999"],
    ['18446744073709551616', "1:20: integer 18446744073709551616 does not fit in 64 bits"],
    ['12e', "1:20: '12e' is not a number"],
    ['1_', "1:20: '1_' is not a number"],
    ['08', "1:20: '08' is not a number"],
  ];
  for (const [text, expected] of ONE_CAUSE)
    test(`one diagnostic: ${text}`, () => assert.deepEqual(errorsOf(`probe begin { @x = ${text}; }`), [expected]));
});

describe('elapsed and cgroup', () => {
  test('elapsed is ns since the runner opened the bundle (tf_start_ns), cgroup the current cgroup id', () => {
    const fe = compileFixture('tracepoint:sched:sched_switch { @e = max(elapsed); @c[cgroup] = count(); }');
    assert.deepEqual(fe.diagnostics, []);
    assert.match(fe.c!, /bpf_ktime_get_ns\(\) - TF_START_NS_VAR/);
    assert.match(fe.c!, /bpf_get_current_cgroup_id\(\)/);
  });
});
