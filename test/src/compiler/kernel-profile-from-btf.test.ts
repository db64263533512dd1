import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { deriveKernelProfile, readKernelImage, type DerivedProfile } from '@tapfleet/compiler';
import { hostKernelProfile } from '@tapfleet/runner';
import type { KernelProfile, TracepointField } from '@tapfleet/schemas';

/**
 * The BTF path checked against the kernel's own answer: this host's BTF (/sys/kernel/btf/vmlinux)
 * read the way a Debian image's is, compared with tracefs's format files for the same kernel.
 */
describe('kernel profile derived from BTF, against tracefs on this host', () => {
  const host: KernelProfile = hostKernelProfile('all');
  const image = readKernelImage('/sys/kernel/btf/vmlinux');
  // Raw BTF carries no notes; the build-id is this host's (the image readers find it in .notes).
  const derived: DerivedProfile = deriveKernelProfile({ ...image, buildId: host.buildId }, host.tracepointNames ?? []);
  const layout = (fields: TracepointField[]) => fields.map((f) => ({ name: f.name, offset: f.offset, size: f.size, signed: f.signed }));

  test('the BTF blob is the one the running kernel exposes (same digest as the host profile)', () => {
    assert.equal(image.btfSha256, host.btf.sha256);
  });

  test('it names no tracepoint the kernel lacks', () => {
    const hostNames = new Set(host.tracepointNames);
    assert.deepEqual(derived.profile.tracepointNames!.filter((n) => !hostNames.has(n)), []);
  });

  test('every tracepoint both have agrees on every field (name, offset, size, signedness)', () => {
    const formats = Object.entries(derived.profile.tracepoints);
    // Most of the kernel's events: trace events of every shape, and syscalls with BTF argument names.
    assert.ok(formats.length > 1000, `only ${formats.length} formats derived`);
    const wrong = formats.filter(([name, f]) => JSON.stringify(layout(f.fields)) !== JSON.stringify(layout(host.tracepoints[name]!.fields)));
    assert.deepEqual(wrong.map(([name]) => name), []);
    for (const tp of ['sched:sched_switch', 'sched:sched_process_exec', 'block:block_rq_complete', 'sock:inet_sock_set_state', 'syscalls:sys_exit_read', 'raw_syscalls:sys_enter'])
      assert.ok(derived.profile.tracepoints[tp], `${tp} not derived: ${derived.underived.find((u) => u.name === tp)?.reason ?? 'absent'}`);
  });

  test('every tracepoint of the kernel is either derived or reported with a reason', () => {
    const accounted = new Set([...Object.keys(derived.profile.tracepoints), ...derived.underived.map((u) => u.name)]);
    const builtIn = new Set(derived.profile.tracepointNames);
    // Left: the tracer's own entries (ftrace:*) and module events, which vmlinux's BTF does not describe.
    const unexplained = host.tracepointNames!.filter((n) => !accounted.has(n) && builtIn.has(n));
    assert.deepEqual(unexplained, []);
    for (const u of derived.underived) assert.ok(u.reason.length > 10, `${u.name}: no reason`);
  });
});
