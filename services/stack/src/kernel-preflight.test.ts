import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelPreflight, preflightText, type PreflightProbes } from './kernel-preflight.js';

const machine = (o: Partial<PreflightProbes> & { missing?: string[] } = {}): PreflightProbes => ({
  uid: () => 0,
  exists: (p) => !(o.missing ?? []).includes(p),
  bpfSyscall: () => undefined,
  release: () => '6.1.0-test',
  ...o,
});

test('preflight: a root shell on a kernel with BTF, tracefs, uprobes and bpf() has nothing to say', () => {
  assert.deepEqual(kernelPreflight(machine()), []);
});

test('preflight: not root is said first, alone, with the command to run', () => {
  const p = kernelPreflight(machine({ uid: () => 1000, missing: ['/sys/kernel/btf/vmlinux'] }));
  assert.equal(p.length, 1);
  assert.match(p[0]!.what, /not root/);
  assert.match(p[0]!.fix, /sudo npm start/);
});

test('preflight: each missing kernel feature is named with what to do', () => {
  const p = kernelPreflight(machine({ missing: ['/sys/kernel/btf/vmlinux', '/sys/kernel/tracing/uprobe_events'], bpfSyscall: () => 'Error: can\'t get next program: Operation not permitted' }));
  assert.deepEqual(p.map((x) => x.what.split(' ').slice(0, 3).join(' ')), ['kernel 6.1.0-test has', 'this kernel has', 'the bpf() syscall']);
  assert.match(p[0]!.fix, /CONFIG_DEBUG_INFO_BTF=y/);
  assert.match(p[1]!.fix, /CONFIG_UPROBE_EVENTS=y/);
  assert.match(p[2]!.what, /Operation not permitted/);
  const text = preflightText(p).join('\n');
  assert.match(text, /^tapfleet cannot run eBPF on this machine:/);
  assert.equal((text.match(/what to do:/g) ?? []).length, 3);
});

test('preflight: tracefs not mounted yet is fine (the stack mounts it); no tracefs at all is not', () => {
  assert.deepEqual(kernelPreflight(machine({ missing: ['/sys/kernel/tracing/events', '/sys/kernel/tracing/uprobe_events'] })), []);
  const p = kernelPreflight(machine({ missing: ['/sys/kernel/tracing/events', '/sys/kernel/tracing'] }));
  assert.match(p[0]!.what, /no tracefs/);
});
