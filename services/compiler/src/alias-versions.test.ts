import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileFixture, errorsOf, FIXTURE_PROFILES } from './test-profile.test-fixtures.js';
import { frontEnd } from './compile.js';
import { formatDiagnostic } from './diagnostics.js';

const SWITCH = 'tracepoint:sched:sched_switch';
const VERSIONS = `alias x = ${SWITCH} { $v = 1; }\nalias x@3 = ${SWITCH} { $v = 3; }\nalias x@2 = ${SWITCH} { $v = 2; }\n`;

describe('versioned aliases', () => {
  test('a probe naming the alias gets the newest version; NAME@N pins one (no @N is version 1)', () => {
    assert.match(compileFixture(`${VERSIONS}probe x { @v = sum($v); }`).c!, /v_v = \(\(__s64\)3LL\);/);
    assert.match(compileFixture(`${VERSIONS}probe x@2 { @v = sum($v); }`).c!, /v_v = \(\(__s64\)2LL\);/);
    assert.match(compileFixture(`${VERSIONS}probe x@1 { @v = sum($v); }`).c!, /v_v = \(\(__s64\)1LL\);/);
  });

  test('an unknown version is refused at the probe point, listing the versions there are', () => {
    const errors = compileFixture(`${VERSIONS}probe x@4 { @v = sum($v); }`).diagnostics.filter((x) => x.severity === 'error');
    assert.equal(errors.length, 1, 'and no cascade about the locals it would have bound');
    const d = errors[0]!;
    assert.equal(formatDiagnostic(d).split('\n')[0], 'script.tap:4:7: error: alias x has no version 4');
    assert.match(formatDiagnostic(d), /its versions are x@1, x@2, x@3 \(without @N, the newest\)/);
  });

  test('a version must be a positive integer', () => {
    assert.ok(errorsOf(`alias x@0 = ${SWITCH} { }\nprobe x { @n = count(); }`).some((e) => e.startsWith("1:9: expected a version number after 'x@', found '0'")));
    assert.ok(errorsOf(`alias x@two = ${SWITCH} { }\nprobe x { @n = count(); }`).some((e) => e.startsWith("1:8: expected a version number after 'x@', found 'two'")));
  });
});

describe('aliases a kernel cannot run', () => {
  test('no variant: "unavailable on this kernel" names the alias and what is missing', () => {
    const errors = errorsOf('alias tcp.state = tracepoint:sock:inet_sock_set_state | tracepoint:tcp:tcp_set_state { }\nprobe tcp.state { @n = count(); }');
    assert.deepEqual(errors, ['2:7: alias tcp.state is unavailable on this kernel (6.18.44-fc-v857): it has no sock tracepoints at all, so no sock:inet_sock_set_state; it has no tcp tracepoints at all, so no tcp:tcp_set_state']);
  });

  test('a missing start point of a pair makes the alias unavailable too (and the body is not checked)', () => {
    const errors = errorsOf(`alias b@2 = ${SWITCH} pairs tracepoint:sched:sched_wakeup { $t = args.pid; }\nprobe b { @n = sum($t); }`);
    assert.deepEqual(errors, ['2:7: alias b@2 is unavailable on this kernel (6.18.44-fc-v857): its start point is missing: it has no tracepoint sched:sched_wakeup']);
  });

  test('a variant needing kprobes falls back to the next one on a kernel without them', () => {
    const r = compileFixture(`alias k = kprobe:finish_task_switch | ${SWITCH} { }\nprobe k { @n = count(); }`);
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
    assert.equal(r.programs!.length, 1);
    assert.equal(r.programs![0]!.target.kind, 'tracepoint');
  });

  test('a kernel without syscall tracepoints: the reason is the missing CONFIG_FTRACE_SYSCALLS', () => {
    const names = FIXTURE_PROFILES.kernel.tracepointNames!.filter((n) => !n.startsWith('syscalls:'));
    const kernel = { ...FIXTURE_PROFILES.kernel, tracepointNames: names };
    const fe = frontEnd({ file: 's.tap', text: 'alias syscall.fsync = tracepoint:syscalls:sys_enter_fsync { }\nprobe syscall.fsync { @n = count(); }', kernel, binaries: [] });
    assert.deepEqual(fe.diagnostics.map((d) => d.message), ['alias syscall.fsync is unavailable on this kernel (6.18.44-fc-v857): it has no syscall tracepoints (built without CONFIG_FTRACE_SYSCALLS), so no syscalls:sys_enter_fsync']);
  });
});
