import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUsdtArg, parseUsdtArgs, usdtArgC } from './passes/usdt-args.js';

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
  assert.equal(parseUsdtArgs('8@%rdi 8@sym(%rip)'), undefined, 'one unreadable argument sends the whole site to usdt.bpf.h');
  assert.deepEqual(parseUsdtArgs(''), []);
});

test('USDT arg C: sign- or zero-extended from the register, read from user memory', () => {
  assert.equal(usdtArgC(parseUsdtArg('-4@%edi')!, 'tf_arg0'), '\tlong tf_arg0 = (long)(__s32)ctx->rdi;');
  assert.match(usdtArgC(parseUsdtArg('8@-16(%rbp)')!, 'tf_arg1'), /bpf_probe_read_user\(&tf_v, sizeof\(tf_v\), \(const void \*\)\(ctx->rbp \+ \(-16\)\)\)/);
});
