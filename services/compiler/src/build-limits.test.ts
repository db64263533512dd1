import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileBundle } from './compile-bundle.js';
import { buildBpfObject, BuildTimeoutError } from './bundle/clang.js';
import { checkObjectLimits, functionSizes } from './bundle/object-limits.js';
import { CompileError, Diagnostics, formatDiagnostic } from './diagnostics.js';
import { LIMITS } from './limits.js';
import { compileFixture, FIXTURE_PROFILES } from './test-profile.test-fixtures.js';

const key = generateKeyPairSync('ed25519').privateKey;
const TP = 'probe tracepoint:sched:sched_switch';
const GW = '/opt/gw/bin/gateway';
const compile = (text: string, build?: { clang?: string; timeoutMs?: number }) =>
  compileBundle('s.tap', text, { signingKey: key, profiles: FIXTURE_PROFILES, binaryPaths: { gw: GW }, ...(build ? { build } : {}) });

async function compileErrors(text: string, build?: { clang?: string; timeoutMs?: number }): Promise<string[]> {
  try {
    await compile(text, build);
  } catch (e) {
    if (e instanceof CompileError) return e.diagnostics.map((d) => formatDiagnostic(d).split('\n')[0]!);
    throw e;
  }
  assert.fail('the script compiled');
}

/** True once `pid` has exited (gone, or a zombie waiting for its reaper). */
function exited(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return true;
  }
}

describe('clang runs with a time allowance', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapfleet-slow-clang-'));
  const pids = join(dir, 'pids');
  const slowClang = join(dir, 'clang');
  // A stand-in clang that works "forever" in a child of its own, as cc1 does under the driver.
  writeFileSync(slowClang, `#!/bin/sh\nsleep 600 &\necho "$$ $!" > ${pids}\nwait\n`);
  chmodSync(slowClang, 0o755);

  test('a build past the allowance is stopped with its whole process group', async () => {
    rmSync(pids, { force: true });
    await assert.rejects(buildBpfObject('int x;\n', { clang: slowClang, timeoutMs: 500 }), (e: unknown) => e instanceof BuildTimeoutError && e.timeoutMs === 500);
    const [driver, worker] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
    for (let i = 0; i < 100 && !(exited(driver!) && exited(worker!)); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(exited(driver!), 'the clang driver still runs');
    assert.ok(exited(worker!), 'the driver\'s child still runs: only the driver was killed');
  });

  test('compileBundle refuses the script with a diagnostic, not a crash', async () => {
    const errors = await compileErrors(`${TP} { @n = count(); }`, { clang: slowClang, timeoutMs: 300 });
    assert.deepEqual(errors, ['s.tap:1:1: error: building this script took longer than 300 ms, so it was stopped']);
  });

  test('cleanup', () => rmSync(dir, { recursive: true, force: true }));
});

describe('limits only clang or the kernel know, mapped back to the probe (real clang)', () => {
  test('a probe over the 512-byte BPF stack', async () => {
    const text = `${TP} { @n = count(); }\nprobe tracepoint:syscalls:sys_enter_openat { $a = str(args.filename, 200); $b = str(args.filename, 200); $c = str(args.filename, 200); @m[$a] = count(); @o[$c] = count(); @p[$b] = count(); }`;
    assert.deepEqual(await compileErrors(text), [`s.tap:2:7: error: this probe needs more than the ${LIMITS.maxStackBytes} bytes of BPF stack`]);
  });

  test('a program over the instruction limit is refused at its probe point', async () => {
    const text = `${TP} { @n = count(); }\nprobe uretprobe:${GW}:submit_order { @l = hist(latency); }`;
    const fe = compileFixture(text);
    const object = await buildBpfObject(fe.c!);
    const sizes = functionSizes(object);
    assert.deepEqual([...sizes.keys()].filter((n) => /^p\d/.test(n)).sort(), ['p0_0', 'p1_0', 'p1_0_entry']);
    const entryInsns = sizes.get('p1_0_entry')! / 8;
    const diags = new Diagnostics();
    // The real limit takes a 1M-instruction program; the check is the same with a small one.
    checkObjectLimits(object, fe.programs!, diags, entryInsns - 1);
    assert.ok(diags.items.length >= 2);
    for (const d of diags.items) assert.match(formatDiagnostic(d), /^script\.tap:(1|2):7: error: this probe compiles to \d+ BPF instructions, more than the kernel loads/);
    const forEntry = diags.items.find((d) => d.message.startsWith(`this probe compiles to ${entryInsns} `));
    assert.equal(forEntry && formatDiagnostic(forEntry).split(':').slice(1, 3).join(':'), '2:7');
  });

  test('the deepest expressions and blocks the limits allow still build', async () => {
    const D = LIMITS.maxExpressionDepth;
    const blocks = LIMITS.maxBlockDepth - 2; // the probe body and the innermost if make the other two levels
    // Memory reads (a statement expression and 8 bytes of stack each) around a division chain (two
    // brackets a level), in the deepest block: the most bracket-hungry C the limits let through.
    // 130 chained terms used to pass the front end and then fail in clang (bracket depth 256).
    const deepest = `${'u64('.repeat(40)}${Array(D - 40).fill('1').join(' / ')}${')'.repeat(40)}`;
    const text = `probe tracepoint:syscalls:sys_enter_openat { ${'if (args.flags > 1 || pid == 2) { '.repeat(blocks)}if (comm == "x" || str(args.filename, 8) == "/etc") { @b[str(args.filename, 16)] = sum(${deepest}); } ${'} '.repeat(blocks)}}`;
    assert.deepEqual(compileFixture(text).diagnostics.map((d) => d.message), []);
    const b = await compile(text);
    assert.ok(b.object.length > 0);
  });

  test('exactly 512 attach points build, and the manifest lists as many as the compiler counted', async () => {
    const text = Array.from({ length: LIMITS.maxAttachPoints / 4 }, () => `probe uretprobe:${GW}:submit_order, uretprobe:${GW}:risk_check { @n = count(); }`).join('\n');
    const b = await compile(text);
    assert.equal(b.manifest.attach.filter((a) => a.kind !== 'interval' && a.kind !== 'begin' && a.kind !== 'end').length, LIMITS.maxAttachPoints);
  });
});
