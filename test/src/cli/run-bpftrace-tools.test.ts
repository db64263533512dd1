/**
 * bpftrace 0.17's own tools (test/fixtures/bpftrace-tools, copied unchanged from its tools/
 * directory) run as written under `tapfleet run`, next to `bpftrace` on the same workload; and
 * the language pieces they showed missing, each side by side: C block comments (every tool opens
 * with one), `?:`, integer casts, `func`, bare library names (`uprobe:libc:...`), `probe` in
 * BEGIN/END/interval, points named twice, bpftrace's bounds on scientific literals, exit() in an if.
 * Compared where the outcome does not depend on timing: headers, keys, line shapes.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { bpftrace as bpftraceSideBySide, printedLines, tapfleetIn, writerWorkers, type Outcome } from './side-by-side.js';

const work = mkdtempSync(join(tmpdir(), 'tf-run-bt-tools-'));
const workers = writerWorkers(work);
after(() => {
  workers.stop();
  rmSync(work, { recursive: true, force: true });
});
const tapfleet = tapfleetIn(join(work, 'data'));
const bpftrace = (program: string, ...params: string[]) => bpftraceSideBySide([], program, ...params);
const tool = (name: string) => join(PROJECT_ROOT, 'test', 'fixtures', 'bpftrace-tools', `${name}.bt`);
const withoutMemlock = (s: string) => s.split('\n').filter((l) => !l.includes('RLIMIT_MEMLOCK')).join('\n');

/** A tool as bpftrace runs it until Ctrl-C: SIGINT after `ms` (its END and maps then print; timeout(1) exits 124 then). */
function bpftraceTool(name: string, ms: number): Outcome {
  const r = spawnSync('timeout', ['-s', 'INT', `${ms / 1000}`, 'bpftrace', tool(name)], { encoding: 'utf8', timeout: ms + 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: withoutMemlock(r.stderr) };
}
/** The same tool under tapfleet run for `seconds`. */
const tapfleetTool = (name: string, seconds: number) => tapfleet('run', tool(name), '-d', `${seconds}s`);

/** A python process that opens a file, statfs()es it and a missing path every 10 ms. */
function fileWorker(marker: string, missing: string): number {
  writeFileSync(marker, 'x');
  const script = join(work, 'files.py');
  writeFileSync(script, `import os, sys, time
while True:
    open(sys.argv[1]).close()
    try: open(sys.argv[2]).close()
    except OSError: pass
    os.statvfs(sys.argv[1])
    try: os.statvfs(sys.argv[2])
    except OSError: pass
    time.sleep(0.01)
`);
  const child = spawn('/usr/bin/python3', [script, marker, missing], { stdio: 'ignore' });
  workers.adopt(child);
  return child.pid!;
}

const marker = join(work, 'marker-file');
const missing = join(work, 'missing-file');
const filesPid = fileWorker(marker, missing);
/** The lines a tool printed for `pid`, each once (the window decides how often). */
const linesOf = (out: string, pid: number) => [...new Set(printedLines(out).filter((l) => l.startsWith(`${pid} `)))].sort();

test('opensnoop.bt as written (block comments, ?:, END clear): header and the lines of a process opening a file and a missing one', () => {
  const bt = bpftraceTool('opensnoop', 3000);
  assert.match(bt.stdout, /^Attaching 6 probes\.\.\.$/m, bt.stderr);
  const tf = tapfleetTool('opensnoop', 2);
  assert.equal(tf.code, 0, tf.stderr);
  const header = ['Tracing open syscalls... Hit Ctrl-C to end.', 'PID    COMM               FD ERR PATH'];
  assert.deepEqual(printedLines(bt.stdout).slice(0, 2), header, 'bpftrace prints what this test expects');
  assert.deepEqual(printedLines(tf.stdout).slice(0, 2), header);
  const mine = linesOf(bt.stdout, filesPid);
  assert.equal(mine.length, 2, `bpftrace prints what this test expects:\n${bt.stdout}`);
  assert.match(mine.join('\n'), new RegExp(`^${filesPid} +python3 +\\d+ +0 ${marker}$`, 'm'), 'bpftrace prints what this test expects');
  assert.match(mine.join('\n'), new RegExp(`^${filesPid} +python3 +-1 +2 ${missing}$`, 'm'), 'bpftrace prints what this test expects');
  assert.deepEqual(linesOf(tf.stdout, filesPid), mine);
});

test('statsnoop.bt as written: the statfs() lines of the same process, ERR 0 and 2, as bpftrace prints them', () => {
  const bt = bpftraceTool('statsnoop', 3000);
  assert.match(bt.stdout, /^Attaching 10 probes\.\.\.$/m, bt.stderr);
  const tf = tapfleetTool('statsnoop', 2);
  assert.equal(tf.code, 0, tf.stderr);
  const header = ['Tracing stat syscalls... Hit Ctrl-C to end.', 'PID    COMM             ERR PATH'];
  assert.deepEqual(printedLines(bt.stdout).slice(0, 2), header, 'bpftrace prints what this test expects');
  assert.deepEqual(printedLines(tf.stdout).slice(0, 2), header);
  const mine = linesOf(bt.stdout, filesPid);
  assert.equal(mine.length, 2, `bpftrace prints what this test expects:\n${bt.stdout}`);
  assert.match(mine.join('\n'), new RegExp(`^${filesPid} +python3 +0 ${marker}$`, 'm'), 'bpftrace prints what this test expects');
  assert.match(mine.join('\n'), new RegExp(`^${filesPid} +python3 +2 ${missing}$`, 'm'), 'bpftrace prints what this test expects');
  assert.deepEqual(linesOf(tf.stdout, filesPid), mine);
});

test('syscount.bt as written: END prints the top 10 of each map under its heading, then the cleared maps are not printed', () => {
  const bt = bpftraceTool('syscount', 3000);
  const tf = tapfleetTool('syscount', 2);
  assert.equal(tf.code, 0, tf.stderr);
  // How many processes ran in the window varies: each heading, then 1..10 entries, smallest count first.
  const shape = (out: string) => printedLines(out).map((l) => l.replace(/^@syscall\[\d+\]: \d+$/, '@syscall[ID]: N').replace(/^@process\[.*\]: \d+$/, '@process[COMM]: N')).filter((l, i, all) => l !== all[i - 1]);
  const expected = ['Counting syscalls... Hit Ctrl-C to end.', 'Top 10 syscalls IDs:', '@syscall[ID]: N', 'Top 10 processes:', '@process[COMM]: N'];
  assert.deepEqual(shape(bt.stdout), expected, 'bpftrace prints what this test expects');
  assert.deepEqual(shape(tf.stdout), expected);
  for (const map of ['@syscall', '@process']) {
    const counts = printedLines(tf.stdout).filter((l) => l.startsWith(`${map}[`)).map((l) => Number(/: (\d+)$/.exec(l)![1]));
    assert.ok(counts.length >= 1 && counts.length <= 10, `${map}: ${counts.length} entries`);
    assert.deepEqual(counts, [...counts].sort((x, y) => x - y), `${map} prints smallest first, as bpftrace`);
  }
});

test('bitesize.bt as written: its END printf has no newline; the maps start on a line of their own after a blank one, as in bpftrace', () => {
  const io = spawn('/bin/sh', ['-c', `while true; do dd if=/dev/zero of=${join(work, 'io')} bs=4k count=8 oflag=direct 2>/dev/null; sleep 0.05; done`], { stdio: 'ignore' });
  workers.adopt(io);
  const bt = bpftraceTool('bitesize', 3000);
  const tf = tapfleetTool('bitesize', 2);
  io.kill('SIGKILL');
  assert.equal(tf.code, 0, tf.stderr);
  for (const out of [bt.stdout, tf.stdout]) {
    assert.match(out, /^Tracing block device I\/O\.\.\. Hit Ctrl-C to end\.\n\nI\/O size \(bytes\) histograms by process name:\n\n@\[[^\]]+\]: \n\[/m, out);
    assert.match(out, /^@\[dd\]: $/m, 'dd\'s direct writes are block requests');
  }
});

test('cpuwalk.bt as written (profile:hz:99 /pid/, lhist of cpu): header and an @cpu histogram of [N, N+1) buckets', () => {
  const bt = bpftraceTool('cpuwalk', 3000);
  const tf = tapfleetTool('cpuwalk', 2);
  assert.equal(tf.code, 0, tf.stderr);
  const shape = (out: string) => printedLines(out).filter((l) => !/^\[\d+, \d+\)\s+\d+ \|@*\s*\|$/.test(l));
  assert.deepEqual(shape(bt.stdout), ['Sampling CPU at 99hz... Hit Ctrl-C to end.', '@cpu:'], 'bpftrace prints what this test expects');
  assert.deepEqual(shape(tf.stdout), shape(bt.stdout));
  // Which CPUs were busy in the window varies: some CPU's bucket counted.
  assert.match(tf.stdout, /^\[\d+, \d+\)\s+[1-9]\d* \|@+/m);
});

test('sslsnoop.bt and gethostlatency.bt check as written; their libcrypto points this libcrypto lacks are one warning per probe', () => {
  const ssl = tapfleet('check', tool('sslsnoop'));
  assert.equal(ssl.code, 0, ssl.stderr);
  const warnings = ssl.stderr.split('\n').filter((l) => l.includes(': warning: '));
  assert.equal(warnings.length, 2, ssl.stderr);
  assert.match(warnings[0]!, /sslsnoop\.bt:41:1: warning: 7 of this probe's points are skipped, as bpftrace skips them: no function rsa_ossl_public_encrypt, .* in \/\S+libcrypto\.so\.\d+$/);
  const host = tapfleet('check', tool('gethostlatency'));
  assert.equal(host.code, 0, host.stderr);
  assert.match(host.stdout, /gethostlatency\.bt: ok \(/);
});

/** A python process that sends itself signal 0 (kill(pid, 0): a check, nothing delivered) every 10 ms. */
function killWorker(): number {
  const child = spawn('/usr/bin/python3', ['-c', 'import os, time\nwhile True:\n    os.kill(os.getpid(), 0)\n    time.sleep(0.01)\n'], { stdio: 'ignore' });
  workers.adopt(child);
  return child.pid!;
}

test('killsnoop.bt as written (time("%H:%M:%S  ") before each printf): the same kill() lines as bpftrace, each led by the local time of the call', () => {
  const pid = killWorker();
  const started = new Date();
  const bt = bpftraceTool('killsnoop', 3000);
  const tf = tapfleetTool('killsnoop', 2);
  assert.equal(tf.code, 0, tf.stderr);
  const header = ['Tracing kill() signals... Hit Ctrl-C to end.', 'TIME      PID    COMM             SIG  TPID   RESULT'];
  assert.deepEqual(printedLines(bt.stdout).slice(0, 2), header, 'bpftrace prints what this test expects');
  assert.deepEqual(printedLines(tf.stdout).slice(0, 2), header);
  // The worker's lines without their time: one shape, the same in both.
  const mine = (out: string) => printedLines(out).filter((l) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d  ${pid} `).test(l));
  const untimed = (out: string) => [...new Set(mine(out).map((l) => l.slice(10)))];
  assert.deepEqual(untimed(bt.stdout), [`${pid}`.padEnd(7) + 'python3          0    ' + `${pid}`.padEnd(7) + '0'], `bpftrace prints what this test expects:\n${bt.stdout}`);
  assert.deepEqual(untimed(tf.stdout), untimed(bt.stdout));
  // The time is this host's local wall clock during the run (the test takes well under a minute).
  const seconds = (hms: string) => { const [h, m, s] = hms.split(':').map(Number); return h! * 3600 + m! * 60 + s!; };
  const at = started.getHours() * 3600 + started.getMinutes() * 60 + started.getSeconds();
  for (const line of mine(tf.stdout)) {
    const drift = (seconds(line.slice(0, 8)) - at + 86_400) % 86_400;
    assert.ok(drift <= 120, `${line}: its time is ${drift} s after the test started`);
  }
  assert.ok(mine(tf.stdout).length >= 50, `kill()s every 10 ms for 2 s: ${mine(tf.stdout).length} lines`);
});

test('join(args->argv) prints a command line as bpftrace does: up to the NULL or an empty argument, a space (or the delimiter given) between', () => {
  const loop = join(work, 'tfjoin-loop');
  writeFileSync(loop, "#!/bin/sh\nwhile true; do /bin/true one '' three; sleep 0.05; done\n", { mode: 0o755 });
  const child = spawn(loop, [], { stdio: 'ignore' });
  workers.adopt(child);
  const program = 'tracepoint:syscalls:sys_enter_execve /comm == "tfjoin-loop"/ { join(args->argv); join(args->argv, ","); }';
  const bt = spawnSync('timeout', ['-s', 'INT', '2', 'bpftrace', '-e', program], { encoding: 'utf8', timeout: 60_000 });
  const tf = tapfleet('run', '-e', program, '-d', '2s');
  child.kill('SIGKILL');
  assert.equal(tf.code, 0, tf.stderr);
  const distinct = (out: string) => [...new Set(printedLines(out))].sort();
  assert.deepEqual(distinct(bt.stdout), ['/bin/true one', '/bin/true,one', 'sleep 0.05', 'sleep,0.05'], 'bpftrace prints what this test expects');
  assert.deepEqual(distinct(tf.stdout), distinct(bt.stdout));
});

test('a bare library name (uprobe:libc:...) is the library bpftrace finds; probe spells its path and func the function', () => {
  const program = 'uprobe:libc:getaddrinfo { printf("%s %s\\n", probe, func); }';
  const bt = bpftraceSideBySide(['-c', '/usr/bin/getent ahosts localhost'], program);
  assert.equal(bt.code, 0, bt.stderr);
  const expected = printedLines(bt.stdout).filter((l) => l.startsWith('uprobe:'));
  assert.match(expected[0] ?? '', /^uprobe:\/\S+\/libc\.so\.6:getaddrinfo getaddrinfo$/, 'bpftrace prints what this test expects');
  const tf = tapfleet('run', '-c', '/usr/bin/getent ahosts localhost', '-e', program);
  assert.equal(tf.code, 0, tf.stderr);
  assert.deepEqual(printedLines(tf.stdout).filter((l) => l.startsWith('uprobe:')), expected);
});

test('block comments, ?: on integers and strings, and integer casts print what bpftrace prints', () => {
  const program = [
    '/* a comment',
    '   over lines */ BEGIN /* inside */ {',
    '  $n = 5; $s = $n > 3 ? "big" : "small"; $m = $n > 9 ? 1 : $n < 0 ? 2 : 3;',
    '  printf("%s %d %d %d %d %d\\n", $s, $m, (int8)255, (uint8)-1, (int16)65535 + 1, (uint32)-1);',
    '  exit();',
    '}',
  ].join('\n');
  const bt = bpftrace(program);
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(printedLines(bt.stdout), ['big 3 -1 255 0 -1'], 'bpftrace prints what this test expects');
  const tf = tapfleet('run', '-e', program);
  assert.equal(tf.code, 0, tf.stderr);
  assert.deepEqual(printedLines(tf.stdout), printedLines(bt.stdout));
});

test('a cast of a narrower cast widens with the outer type\'s sign, as bpftrace 0.17 does', () => {
  const program = 'BEGIN { printf("%d %d %d %d %x\\n", (uint32)(int8)-1, (int32)(uint8)255, (uint64)(int16)-2, (int16)(uint8)200, (uint16)(int8)-1); exit(); }';
  const bt = bpftrace(program);
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(printedLines(bt.stdout), ['255 -1 65534 -56 ff'], 'bpftrace prints what this test expects');
  const tf = tapfleet('run', '-e', program);
  assert.equal(tf.code, 0, tf.stderr);
  assert.deepEqual(printedLines(tf.stdout), printedLines(bt.stdout));
});

test('an unterminated block comment and a struct cast are one error each at file:line:col', () => {
  const open = tapfleet('check', '-e', 'BEGIN { exit(); } /* no end');
  assert.equal(open.code, 1);
  assert.deepEqual(open.stderr.split('\n').filter((l) => / error: /.test(l)), ["-e:1:19: error: unterminated comment"]);
  // naptime.bt's shape: a cast, then struct access through the local and through a tracepoint field.
  const cast = tapfleet('check', '-e', 'tracepoint:syscalls:sys_enter_nanosleep /args->rqtp->tv_sec/ { $t = (struct task_struct *)curtask; printf("%s %d\\n", $t->real_parent->comm, $t->pid); }');
  assert.equal(cast.code, 1);
  assert.deepEqual(cast.stderr.split('\n').filter((l) => / error: /.test(l)), ['-e:1:52: error: args->rqtp->tv_sec reads through the pointer args->rqtp, a struct tapfleet cannot read: it has no BTF struct access']);
  assert.match(cast.stderr, /u64\(args->rqtp\) and u64\(args->rqtp \+ 8\) for a timespec/);
  const deref = tapfleet('check', '-e', 'interval:s:1 { $p = kaddr("avenrun"); $l = *$p; printf("%d\\n", $l >> 11); }');
  assert.deepEqual(deref.stderr.split('\n').filter((l) => / error: /.test(l)), ['-e:1:44: error: *$p reads kernel memory through a pointer, which tapfleet cannot do: it has no BTF struct or kernel memory access', '-e:1:21: error: unknown function kaddr()']);
});

test('probe in BEGIN, END and interval is the point as bpftrace spells it', () => {
  const program = 'BEGIN { printf("%s\\n", probe); @[probe] = count(); } i:ms:100 { printf("%s\\n", probe); exit(); } END { printf("[%s]\\n", probe); }';
  const bt = bpftrace(program);
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(printedLines(bt.stdout), ['BEGIN', 'interval:ms:100', '[END]', '@[BEGIN]: 1'], 'bpftrace prints what this test expects');
  const tf = tapfleet('run', '-e', program);
  assert.equal(tf.code, 0, tf.stderr);
  assert.deepEqual(printedLines(tf.stdout), printedLines(bt.stdout));
});

// bpftrace 0.17 attaches such a point twice and counts each write twice (here: 190 enters, 112 exits in its second);
// tapfleet attached it twice too. Once is what the script means.
test('a point a pattern also names attaches once: one probe fewer than bpftrace 0.17 attaches, each write counted once', () => {
  const pid = workers.start(6);
  const program = 'tracepoint:syscalls:sys_enter_writ*, tracepoint:syscalls:sys_enter_write /pid == $1/ { @[probe] = count(); } tracepoint:syscalls:sys_exit_write /pid == $1/ { @exit = count(); } interval:s:1 { exit(); }';
  const bt = bpftrace(program, String(pid));
  assert.equal(bt.code, 0, bt.stderr);
  const attached = Number(/^Attaching (\d+) probes/m.exec(bt.stdout)![1]);
  const tf = tapfleet('run', '-e', program, String(pid));
  assert.equal(tf.code, 0, tf.stderr);
  assert.equal(attached, 5, 'bpftrace attaches sys_enter_write twice');
  assert.equal(Number(/^Attached (\d+) probes/m.exec(tf.stderr)![1]), attached - 1);
  const enters = Number(/^@\[tracepoint:syscalls:sys_enter_write\]: (\d+)$/m.exec(tf.stdout)![1]);
  const exits = Number(/^@exit: (\d+)$/m.exec(tf.stdout)![1]);
  assert.ok(Math.abs(enters - exits) <= 1, `one count per write: ${enters} enters, ${exits} exits`);
});

test('scientific literals as bpftrace 0.17 bounds them: 10e18 and 1e17 are one error each, 2^64 - 1 in full prints', () => {
  for (const [literal, message] of [
    ['10e18', "-e:1:25: error: '10e18': the digits before the exponent must be one digit, 0 to 9, not 10"],
    ['1e19', "-e:1:25: error: '1e19': the exponent must be at most 16, not 19"],
  ] as const) {
    const program = `BEGIN { printf("%lu\\n", ${literal}); exit(); }`;
    assert.notEqual(bpftrace(program).code, 0, `bpftrace refuses ${literal}`);
    const tf = tapfleet('check', '-e', program);
    assert.equal(tf.code, 1);
    assert.deepEqual(tf.stderr.split('\n').filter((l) => / error: /.test(l)), [message]);
  }
  const program = 'BEGIN { printf("%lu %lu\\n", 18446744073709551615, 9e16); exit(); }';
  const bt = bpftrace(program);
  assert.deepEqual(printedLines(bt.stdout), ['18446744073709551615 90000000000000000'], 'bpftrace prints what this test expects');
  assert.deepEqual(printedLines(tapfleet('run', '-e', program).stdout), printedLines(bt.stdout));
});

test('exit() inside an if in BEGIN ends the probe there: the print() and printf() after it do not run, as in bpftrace', () => {
  const program = 'BEGIN { @x = 5; if (1) { exit(); } print(@x); printf("after\\n"); } END { printf("end\\n"); }';
  const bt = bpftrace(program);
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(printedLines(bt.stdout), ['end', '@x: 5'], 'bpftrace prints what this test expects');
  const tf = tapfleet('run', '-e', program);
  assert.equal(tf.code, 0, tf.stderr);
  assert.deepEqual(printedLines(tf.stdout), printedLines(bt.stdout));
  // The if not taken: everything runs.
  const other = program.replace('if (1)', 'if (0)').replace('printf("after\\n"); }', 'printf("after\\n"); exit(); }');
  assert.deepEqual(printedLines(tapfleet('run', '-e', other).stdout), printedLines(bpftrace(other).stdout));
});

test('an END that clears every kind of map leaves what bpftrace 0.17 prints: 0 for a keyless count(), an empty line for the rest', () => {
  const program = 'BEGIN { @s = sum(5); @c = count(); @m = max(3); @a = avg(4); @h = hist(2); @st = stats(3); @k[1] = count(); exit(); } END { clear(@s); clear(@c); clear(@m); clear(@a); clear(@h); clear(@st); clear(@k); }';
  const bt = bpftrace(program);
  assert.deepEqual(printedLines(bt.stdout), ['@c: 0'], 'bpftrace prints what this test expects');
  const tf = tapfleet('run', '-e', program);
  assert.equal(tf.code, 0, tf.stderr);
  assert.equal(tf.stdout, withoutMemlock(bt.stdout).replace(/^Attaching.*\n/, ''));
});

test('keyless maps nothing wrote print as bpftrace prints them: count() 0, an empty line for hist() and avg()', () => {
  const program = 'tracepoint:syscalls:sys_enter_acct { @c = count(); @h = hist(1); @a = avg(1); } interval:ms:200 { exit(); }';
  const bt = bpftrace(program);
  assert.deepEqual(printedLines(bt.stdout), ['@c: 0'], 'bpftrace prints what this test expects');
  const tf = tapfleet('run', '-e', program);
  assert.equal(tf.code, 0, tf.stderr);
  assert.equal(tf.stdout, withoutMemlock(bt.stdout).replace(/^Attaching.*\n/, ''));
});

test('after END, two newlines before the maps, and an empty map an empty line, as bpftrace writes them', () => {
  const program = 'BEGIN { @a = 1; @k[1] = 2; delete(@k[1]); exit(); } END { printf("end"); }';
  const bt = bpftrace(program);
  const tf = tapfleet('run', '-e', program);
  assert.equal(tf.code, 0, tf.stderr);
  assert.equal(withoutMemlock(bt.stdout).replace(/^Attaching.*\n/, ''), 'end\n\n@a: 1\n\n', 'bpftrace prints what this test expects');
  assert.equal(tf.stdout, 'end\n\n@a: 1\n\n');
});
