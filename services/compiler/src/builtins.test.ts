/**
 * bpftrace's time(), strftime(), ksym(), usym() and reg(), and USDT point patterns, against the
 * fixture profiles: what each compiles to (the record and key layouts user space reads) and the
 * one diagnostic each misuse gets. The kernel side by side with bpftrace: test/src/cli/run-builtins.test.ts.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileFixture, errorsOf } from './test-profile.test-fixtures.js';
import { formatStrftime, strftimeProblem } from '@tapfleet/schemas';

const GW = '/opt/gw/bin/gateway';
const TP = 'tracepoint:sched:sched_switch';
const UP = `uprobe:${GW}:submit_order`;

const ok = (text: string) => {
  const fe = compileFixture(text);
  assert.deepEqual(fe.diagnostics.filter((d) => d.severity === 'error'), []);
  return fe;
};

describe('time() and strftime()', () => {
  test('time() is a printf() record of one strftime field: the format on the field, the time is nsecs', () => {
    const fe = ok(`${TP} { time(); time("%Y-%m-%d "); printf("%s|%d\\n", strftime("%H:%M:%S.%f", nsecs), pid); }`);
    const layouts = [...fe.lowered!.events.values()];
    assert.deepEqual(layouts.map((l) => l.call), [
      { fn: 'printf', format: '%s', args: ['arg0'] },
      { fn: 'printf', format: '%s', args: ['arg0'] },
      { fn: 'printf', format: '%s|%d\n', args: ['arg0', 'arg1'] },
    ]);
    // The time is the host's to print (its clock, its time zone): last in the record, with the symbols and stacks.
    assert.deepEqual(layouts.map((l) => l.fields), [
      [{ name: 'arg0', type: 'u64', offset: 40, size: 8, strftime: '%H:%M:%S\n' }],
      [{ name: 'arg0', type: 'u64', offset: 40, size: 8, strftime: '%Y-%m-%d ' }],
      [{ name: 'arg1', type: 'u64', offset: 40, size: 8 }, { name: 'arg0', type: 'u64', offset: 48, size: 8, strftime: '%H:%M:%S.%f' }],
    ]);
    assert.match(fe.c!, /tf_ev->arg0 = \(\(__s64\)bpf_ktime_get_ns\(\)\);/);
  });

  test('a strftime() map key: the nsecs, printed as the time where the map is read', () => {
    const fe = ok(`${TP} { @[strftime("%H:%M", nsecs), comm] = count(); }`);
    assert.deepEqual(fe.lowered!.maps.get('@')!.keyFields[0], { name: 'k0', type: 'u64', offset: 0, size: 8, strftime: '%H:%M' });
  });

  test('time() in begin, end and interval probes: a line of its firing, as printf()', () => {
    ok(`${TP} { @x++; }\ninterval:s:1 { time("%H:%M:%S "); printf("%d\\n", @x); clear(@x); }\nBEGIN { time(); }\nEND { time("%c\\n"); }`);
  });

  const MISUSE: [string, string, string][] = [
    ['time() with a non-literal format', `${TP} { $f = "%H"; time($f); }`, "1:49: time() takes a strftime format string literal, found '$f'"],
    ['time() with two arguments', `${TP} { time("%H", 1); }`, "1:42: expected ')' time() takes one format string, found ','"],
    ['strftime() with a non-literal format', `${TP} { printf("%s\\n", strftime(comm, nsecs)); }`, '1:57: the format given to strftime() must be a string literal'],
    ['strftime() of a string', `${TP} { printf("%s\\n", strftime("%H", comm)); }`, '1:63: the time given to strftime() must be an integer, not string[16]'],
    ['strftime() with one argument', `${TP} { printf("%s\\n", strftime("%H")); }`, '1:48: strftime() takes a format and a time in ns since boot: strftime("%H:%M:%S", nsecs)'],
    ['a conversion tapfleet does not print', `${TP} { time("%H %Q\\n"); }`, '1:42: %Q is not a strftime conversion tapfleet prints'],
    ['strftime() outside printf()', `${TP} { $t = strftime("%H", nsecs); }`, '1:38: strftime() is printed in user space: it can be a printf() argument, an event field or a map key only'],
    ['strftime() in arithmetic', `${TP} { @[strftime("%H", nsecs) / 60] = count(); }`, '1:35: strftime() is printed in user space'],
    ['%d of strftime()', `${TP} { printf("%d\\n", strftime("%H", nsecs)); }`, '1:48: %d prints an integer, strftime() gives text'],
    // Over the bundle manifest's bound: a diagnostic here, not a manifest refused at run time.
    ['a format over 256 characters', `${TP} { time("${'%Y'.repeat(129)}"); }`, '1:39: a strftime format is at most 256 characters; this one has 258'],
    ['a strftime() format over 256 characters', `${TP} { printf("%s", strftime("${'x'.repeat(257)}", nsecs)); }`, '1:56: a strftime format is at most 256 characters; this one has 257'],
  ];
  for (const [name, script, first] of MISUSE)
    test(`one diagnostic: ${name}`, () => {
      const errors = errorsOf(script);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.ok(errors[0]!.startsWith(first), errors[0]);
    });

  test('strftime formats as glibc does in the C locale, %f the microseconds', () => {
    const ns = BigInt(Date.UTC(2026, 11, 3, 1, 2, 3, 4)) * 1_000_000n + 5_000n;
    const tz = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      assert.equal(formatStrftime('%Y-%m-%d %H:%M:%S.%f %a %b %e %j %p %I %s %%', ns), '2026-12-03 01:02:03.004005 Thu Dec  3 337 AM 01 1796259723 %');
      assert.equal(formatStrftime('%c|%D|%T|%F|%R|%u %w|%y %C|%V %G|%z', ns), 'Thu Dec  3 01:02:03 2026|12/03/26|01:02:03|2026-12-03|01:02|4 4|26 20|49 2026|+0000');
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    assert.equal(strftimeProblem('%H:%M:%S %f\n'), undefined);
    assert.equal(strftimeProblem('%')?.message, 'a strftime format cannot end with a lone %');
  });

  test('%U %W (weeks from the first Sunday, Monday) and %P (am/pm), as bpftrace 0.17 prints them through glibc', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'UTC';
    const at = (y: number, m: number, d: number, h = 0) => BigInt(Date.UTC(y, m, d, h)) * 1_000_000n;
    try {
      // glibc (date -u -d ... +'%U %W %P'): 2026-12-03 is a Thursday, 2023-01-01 a Sunday, 2024-01-01 a Monday.
      assert.equal(formatStrftime('%U %W %P', at(2026, 11, 3, 1)), '48 48 am');
      assert.equal(formatStrftime('%U %W %P', at(2023, 0, 1, 13)), '01 00 pm');
      assert.equal(formatStrftime('%U %W', at(2024, 0, 1)), '00 01');
      assert.equal(formatStrftime('%U %W', at(2026, 11, 31)), '52 52');
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    for (const f of ['%U', '%W', '%P']) assert.equal(strftimeProblem(f), undefined, f);
  });
});

describe('ksym(), usym() and reg()', () => {
  test('printf() arguments: the addresses last in the record, as ksym/usym fields; reg() reads the saved registers', () => {
    const fe = ok(`${UP} { printf("%s %s %d %s\\n", usym(reg("ip")), ksym(arg0), pid, comm); }`);
    const [layout] = fe.lowered!.events.values();
    assert.deepEqual(layout!.fields.map((f) => [f.name, f.type, f.offset, f.size]), [['arg2', 'u64', 40, 8], ['arg3', 'str', 48, 16], ['arg0', 'usym', 64, 8], ['arg1', 'ksym', 72, 8]]);
    assert.deepEqual(layout!.call, { fn: 'printf', format: '%s %s %d %s\n', args: ['arg0', 'arg1', 'arg2', 'arg3'] });
    assert.match(fe.c!, /tf_ev->arg0 = \(\(__s64\)\(\(struct pt_regs \*\)ctx\)->rip\);/);
  });

  test('map keys: ksym an address, usym the address and its process (named where the map is read)', () => {
    const fe = ok(`profile:hz:99 { @k[ksym(reg("ip"))] = count(); @u[usym(reg("ip")), comm] = count(); }`);
    assert.deepEqual(fe.lowered!.maps.get('@k')!.keyFields, [{ name: 'k0', type: 'ksym', offset: 0, size: 8 }]);
    assert.deepEqual(fe.lowered!.maps.get('@u')!.keyFields, [{ name: 'k0', type: 'usym', offset: 0, size: 16 }, { name: 'k1', type: 'str', offset: 16, size: 16 }]);
    assert.match(fe.c!, /tf_k\.k0 = \(\(__s64\)ctx->regs\.rip\);/);
    assert.match(fe.c!, /tf_k\.k0\[0\] = \(\(__s64\)ctx->regs\.rip\); tf_k\.k0\[1\] = \(__s64\)\(bpf_get_current_pid_tgid\(\) >> 32\);/);
  });

  test('every x86_64 register bpftrace names', () => {
    const regs = ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di', 'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss'];
    ok(`${UP} { ${regs.map((r, i) => `@r${i} = reg("${r}");`).join(' ')} }`);
  });

  const MISUSE: [string, string, string][] = [
    ['ksym() of a string', `${UP} { printf("%s\\n", ksym(comm)); }`, '1:63: the address given to ksym() must be an integer, not string[16]'],
    ['usym() with no argument', `${UP} { @[usym()] = count(); }`, '1:45: usym() takes one user address: usym(addr)'],
    ['ksym() stored in a local', `${UP} { $s = ksym(arg0); }`, '1:48: ksym() is printed in user space: it can be a printf() argument, an event field or a map key only'],
    ['ksym() in arithmetic', `${UP} { @[ksym(arg0) + 1] = count(); }`, '1:45: ksym() is printed in user space'],
    ['%x of ksym()', `${UP} { printf("%x\\n", ksym(arg0)); }`, '1:58: %x prints an integer, ksym() gives text'],
    ['reg() of an unknown register', `${UP} { @[reg("rip")] = count(); }`, '1:49: no register "rip" on x86_64'],
    ['reg() with a non-literal name', `${UP} { @[reg(comm)] = count(); }`, '1:45: reg() takes one register name, a string literal: reg("ip")'],
    ['reg() in a tracepoint', `${TP} { @[reg("ip")] = count(); }`, '1:35: reg() reads the registers of a uprobe, uretprobe, usdt or profile probe, not of a tracepoint probe'],
    ['reg() in an interval probe', 'interval:s:1 { printf("%s\\n", ksym(reg("ip"))); }', '1:36: reg() reads the registers of a uprobe, uretprobe, usdt or profile probe, not of an interval probe'],
  ];
  for (const [name, script, first] of MISUSE)
    test(`one diagnostic: ${name}`, () => {
      const errors = errorsOf(script);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.ok(errors[0]!.startsWith(first), errors[0]);
    });
});

describe('USDT point patterns', () => {
  const probesOf = (point: string) => ok(`${point} { @[probe] = count(); }`).probes[0]!.points.map((p) => (p.target.kind === 'usdt' ? `${p.target.provider}:${p.target.name}` : p.target.kind));
  test('usdt:BIN:*, usdt:BIN:PROVIDER:*, usdt:BIN:*:NAME and usdt:BIN:NAME name every matching note, in name order', () => {
    assert.deepEqual(probesOf(`usdt:${GW}:*`), ['gw:order__done', 'gw:order__start']);
    assert.deepEqual(probesOf(`usdt:${GW}:gw:*`), ['gw:order__done', 'gw:order__start']);
    assert.deepEqual(probesOf(`usdt:${GW}:*:order__start`), ['gw:order__start']);
    assert.deepEqual(probesOf(`usdt:${GW}:order__done`), ['gw:order__done']);
    assert.deepEqual(probesOf(`U:${GW}:g*:*__s*`), ['gw:order__start']);
    assert.deepEqual(probesOf(`usdt:${GW}:gw:order__start`), ['gw:order__start']);
  });

  test('a pattern that matches nothing is one error naming the probes there are', () => {
    assert.deepEqual(errorsOf(`usdt:${GW}:gw:query* { @ = count(); }`), [`1:1: no USDT probe matches usdt:${GW}:gw:query* in ${GW}`]);
    assert.deepEqual(errorsOf(`usdt:${GW}:nosuch { @ = count(); }`), [`1:1: no USDT probe matches usdt:${GW}:nosuch in ${GW}`]);
  });

  test('a pattern of many stars is matched in linear time', { timeout: 60_000 }, () => {
    assert.deepEqual(errorsOf(`usdt:${GW}:${'*'.repeat(500)}Q:${'*x'.repeat(500)} { @ = count(); }`).length, 1);
  });
});
