import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StackMap } from '@tapfleet/schemas';
import { KernelSymbols } from './kernel-symbols.js';
import { FileSymbols, parseMaps, UserSymbols } from './user-symbols.js';
import { LOST_STACK_PREFIX, StackSymbolizer } from './stack-symbolizer.js';
import { mergeEqualKeys } from '../aggregations.js';

const KALLSYMS = [
  'ffffffff81000000 T _stext',
  'ffffffff81001000 t do_one\t[mod_a]',
  'ffffffff81000800 T second_sorted_by_address',
  'ffffffff82000000 D some_data',
  'ffffffff81002000 W weak_fn',
].join('\n');

test('kernel symbols: sorted once, found by binary search as name+decimal offset; data symbols ignored; below every symbol is hex', () => {
  const k = KernelSymbols.parse(KALLSYMS);
  assert.equal(k.size, 4);
  assert.equal(k.frame(0xffffffff81000010n), '_stext+16');
  assert.equal(k.frame(0xffffffff81000800n), 'second_sorted_by_address+0');
  assert.equal(k.frame(0xffffffff81001005n), 'do_one+5');
  assert.equal(k.frame(0xffffffff82000010n), 'weak_fn+16769040'); // data symbols name no code
  assert.equal(k.frame(0xffffffff80000000n), '0xffffffff80000000');
});

test('kernel symbols: a kallsyms read without CAP_SYSLOG (all zero addresses) names nothing', () => {
  const k = KernelSymbols.parse('0000000000000000 T _stext\n0000000000000000 t other');
  assert.equal(k.size, 0);
  assert.equal(k.frame(0xffffffff81000010n), '0xffffffff81000010');
});

test('process maps: executable file mappings with their file offsets and dev:inode; anonymous and data mappings skipped', () => {
  const maps = parseMaps([
    '55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1234                       /opt/app/bin',
    '55d0c0a01000-55d0c0a02000 r-xp 00001000 08:01 1234                       /opt/app/bin',
    '7f0000000000-7f0000100000 r-xp 00026000 08:01 99                         /usr/lib/libc.so.6 (deleted)',
    '7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]',
    '7f1000000000-7f1000001000 r-xp 00000000 00:00 0 ',
  ].join('\n'));
  assert.deepEqual(maps.map((m) => [m.start.toString(16), m.fileOffset, m.file, m.path]), [
    ['55d0c0a01000', 0x1000n, '08:01:1234', '/opt/app/bin'],
    ['7f0000000000', 0x26000n, '08:01:99', '/usr/lib/libc.so.6'],
  ]);
});

test('file symbols: the function holding an offset; past a sized function is unknown; below the first is unknown', () => {
  const f = new FileSymbols([
    { name: 'b', address: 0, size: 0x10, fileOffset: 0x1100 },
    { name: 'a', address: 0, size: 0x20, fileOffset: 0x1000 },
    { name: 'nosize', address: 0, size: 0, fileOffset: 0x2000 },
  ]);
  assert.equal(f.frame(0x1000), 'a+0');
  assert.equal(f.frame(0x101f), 'a+31');
  assert.equal(f.frame(0x1020), undefined);
  assert.equal(f.frame(0x1105), 'b+5');
  assert.equal(f.frame(0x2345), 'nosize+837');
  assert.equal(f.frame(0x10), undefined);
});

test('user symbols of this very process: an address of the node binary resolves or prints as hex; one in no mapping is hex', () => {
  const self = parseMaps(readFileSync('/proc/self/maps', 'utf8')).find((m) => m.path === process.execPath);
  assert.ok(self, 'node is mapped executable');
  const u = new UserSymbols();
  assert.match(u.frame(process.pid, self.start + 0x10n), /^(\S+\+\d+|0x[0-9a-f]+)$/);
  assert.equal(u.frame(process.pid, 0x10n), '0x10');
});

test('user symbols: a program compiled here resolves to its own function names through /proc/PID/maps', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapfleet-usym-'));
  try {
    writeFileSync(join(dir, 'p.c'), '#include <stdio.h>\n#include <unistd.h>\n__attribute__((noinline)) void tf_named_fn(void) { printf("%p\\n", (void *)tf_named_fn); fflush(stdout); pause(); }\nint main(void) { tf_named_fn(); }\n');
    execFileSync('gcc', ['-O0', '-o', join(dir, 'p'), join(dir, 'p.c')]);
    const child = spawn(join(dir, 'p'), { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const line = await new Promise<string>((resolve) => child.stdout.once('data', (b: Buffer) => resolve(b.toString().trim())));
      assert.equal(new UserSymbols().frame(child.pid!, BigInt(line) + 3n), 'tf_named_fn+3');
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const STACKS: StackMap[] = [{ name: 'tf_stack_k127', user: false, depth: 127, maxEntries: 4096 }];
const entry = (id: number, ips: bigint[], depth = 4) => {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, id, true);
  const value = new Uint8Array(depth * 8);
  ips.forEach((ip, i) => new DataView(value.buffer).setBigUint64(i * 8, ip, true));
  return { key, value };
};
const field = { name: 'k0', type: 'kstack' as const, offset: 0, size: 8, stackMap: 'tf_stack_k127' };
const packed = (id: number, tgid = 0) => (BigInt(tgid) << 32n) | BigInt(id >>> 0);

test('stack symbolizer: frames leaf first, one a line, from the snapshot of the stack map the key names', () => {
  const kernel = KernelSymbols.parse(KALLSYMS);
  const s = new StackSymbolizer(STACKS, () => kernel);
  assert.ok(s.owns('tf_stack_k127'));
  assert.ok(!s.owns('m_x'));
  s.update('tf_stack_k127', [entry(7, [0xffffffff81001005n, 0xffffffff81000010n])]);
  assert.equal(s.resolve(field, packed(7)), 'do_one+5\n_stext+16');
  assert.equal(s.resolve(field, packed(8)), '[stack 8 not read]');
});

test('stack symbolizer: ids the kernel refused are shown as lost (EEXIST, ENOMEM); no stack of that kind (EFAULT) is empty as in bpftrace', () => {
  const s = new StackSymbolizer(STACKS, () => KernelSymbols.parse(KALLSYMS));
  assert.ok(s.resolve(field, packed(-17)).startsWith(LOST_STACK_PREFIX));
  assert.match(s.resolve(field, packed(-17)), /EEXIST/);
  assert.match(s.resolve(field, packed(-12)), /ENOMEM/);
  assert.equal(s.resolve(field, packed(-14)), '');
});

test('equal symbolised keys merge as the fleet merges hosts: counts add, histograms add bucket-wise, min ignores empty copies', () => {
  assert.deepEqual(mergeEqualKeys('count', [{ key: ['a\nb'], value: 2n }, { key: ['a\nb'], value: 3n }, { key: ['c'], value: 1n }]), [{ key: ['a\nb'], value: 5n }, { key: ['c'], value: 1n }]);
  assert.deepEqual(mergeEqualKeys('hist', [{ key: ['x'], value: 2n, buckets: [1n, 1n] }, { key: ['x'], value: 1n, buckets: [0n, 1n] }]), [{ key: ['x'], value: 3n, buckets: [1n, 2n] }]);
  assert.deepEqual(mergeEqualKeys('min', [{ key: ['x'], value: 0n, count: 0n }, { key: ['x'], value: 9n, count: 1n }, { key: ['x'], value: 4n, count: 1n }]), [{ key: ['x'], value: 4n, count: 1n }]);
});
