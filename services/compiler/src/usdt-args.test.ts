import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUsdtArg, parseUsdtArgs, usdtArgC } from './passes/usdt-args.js';
import { frontEnd } from './compile.js';
import { formatDiagnostic } from './diagnostics.js';
import { FIXTURE_PROFILES } from './test-profile.test-fixtures.js';

test('USDT arg specs: registers of every width, memory with and without offset, immediates', () => {
  assert.deepEqual(parseUsdtArg('-4@%edi'), { size: 4, signed: true, loc: { kind: 'reg', reg: 'rdi' } });
  assert.deepEqual(parseUsdtArg('8@%r12'), { size: 8, signed: false, loc: { kind: 'reg', reg: 'r12' } });
  assert.deepEqual(parseUsdtArg('1@%r9b'), { size: 1, signed: false, loc: { kind: 'reg', reg: 'r9' } });
  assert.deepEqual(parseUsdtArg('8@-16(%rbp)'), { size: 8, signed: false, loc: { kind: 'mem', reg: 'rbp', offset: -16 } });
  assert.deepEqual(parseUsdtArg('-2@(%rdx)'), { size: 2, signed: true, loc: { kind: 'mem', reg: 'rdx', offset: 0 } });
  assert.deepEqual(parseUsdtArg('-8@$42'), { size: 8, signed: true, loc: { kind: 'imm', value: 42n } });
});

test('USDT arg specs we do not lower directly: RIP-relative, index registers, garbage', () => {
  assert.equal(parseUsdtArg('8@counter(%rip)'), undefined);
  assert.equal(parseUsdtArg('4@8(%rax,%rbx,4)'), undefined);
  assert.equal(parseUsdtArg('3@%rax'), undefined);
  assert.deepEqual(parseUsdtArgs('8@%rdi -4@40+CheckpointStats(%rip)'), [
    { size: 8, signed: false, loc: { kind: 'reg', reg: 'rdi' } },
    { size: 8, signed: false, loc: { kind: 'unreadable', text: '-4@40+CheckpointStats(%rip)' } },
  ], 'an unreadable argument is marked, not the whole site (libbpf 1.1 refuses such a site at attach)');
  assert.deepEqual(parseUsdtArgs(''), []);
});

test('a site with a RIP-relative argument (PostgreSQL checkpoint__done): its readable arguments compile; reading the other one is an error', () => {
  // The fixture gateway, its order__done site given file offsets and PostgreSQL 15's checkpoint__done argument spec.
  const gw = FIXTURE_PROFILES.binaries[0]!;
  const binary = { ...gw, usdt: gw.usdt.map((n) => ({ ...n, fileOffset: n.address - 0x400000, semaphoreFileOffset: 0, ...(n.name === 'order__done' ? { args: '-4@40+CheckpointStats(%rip) -4@NBuffers(%rip) -4@%eax' } : {}) })) };
  const compile = (text: string) => frontEnd({ file: 's.tap', text, kernel: FIXTURE_PROFILES.kernel, binaries: [binary], binaryPaths: {} });
  const ok = compile(`probe usdt:${gw.path}:gw:order__done { @n = sum(arg2); @c = count(); }`);
  assert.deepEqual(ok.diagnostics.map((d) => d.message), []);
  const bad = compile(`probe usdt:${gw.path}:gw:order__done { @n = sum(arg0); }`);
  assert.deepEqual(bad.diagnostics.map((d) => formatDiagnostic(d).split('\n')[0]), [`s.tap:1:${`probe usdt:${gw.path}:gw:order__done { @n = sum(`.length + 1}: error: arg0 of USDT probe gw:order__done is '-4@40+CheckpointStats(%rip)', which tapfleet cannot read`]);
});

test('USDT arg C: sign- or zero-extended from the register, read from user memory', () => {
  assert.equal(usdtArgC(parseUsdtArg('-4@%edi')!, 'tf_arg0'), '\tlong tf_arg0 = (long)(__s32)ctx->rdi;');
  assert.match(usdtArgC(parseUsdtArg('8@-16(%rbp)')!, 'tf_arg1'), /bpf_probe_read_user\(&tf_v, sizeof\(tf_v\), \(const void \*\)\(ctx->rbp \+ \(-16\)\)\)/);
});
