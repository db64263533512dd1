import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveKernelProfile, readKernelImage, type DerivedProfile } from '@tapfleet/compiler';
import { hostKernelProfile } from '@tapfleet/runner';
import type { KernelProfile, TracepointField } from '@tapfleet/schemas';
import { arm64Image, BANNER, BUILD_ID, bzImage, vmlinuxElf, type ImageContents } from './synthetic-kernel-image.js';

/**
 * The image readers end to end: a vmlinux, the same inside an xz bzImage, and an arm64 Image with
 * its pointers in RELA entries, each holding this host's BTF and the tables of two events and a
 * few syscalls. The derived formats must be tracefs's own for this kernel.
 */
const EVENTS = { 'sched:sched_switch': 'sched', 'sock:inet_sock_set_state': 'sock' } as const;
const OPENAT = [{ type: 'int', name: 'dfd' }, { type: 'const char *', name: 'filename' }, { type: 'int', name: 'flags' }, { type: 'umode_t', name: 'mode' }];
const layout = (fields: TracepointField[]) => fields.map((f) => `${f.name}@${f.offset}/${f.size}/${f.signed ? 's' : 'u'}`);

describe('kernel images read without booting them', () => {
  const host: KernelProfile = hostKernelProfile([...Object.keys(EVENTS), 'syscalls:sys_enter_openat', 'syscalls:sys_exit_openat']);
  const contents: ImageContents = {
    events: Object.fromEntries(Object.entries(EVENTS).map(([tp, system]) => [tp.split(':')[1]!, { system, format: host.tracepoints[tp]! }])),
    // Enough syscalls for an arm64 Image's link address to be found from their names.
    syscalls: { openat: OPENAT, read: [], write: [], close: [], mmap: [], exit_group: [] },
  };
  const dir = mkdtempSync(join(tmpdir(), 'tapfleet-image-'));
  const files: Record<string, string> = {};
  before(() => {
    const elf = vmlinuxElf(contents);
    for (const [name, data] of Object.entries({ vmlinux: elf, vmlinuz: bzImage(elf), Image: arm64Image(contents) })) writeFileSync((files[name] = join(dir, name)), data);
  });

  for (const [name, arch, format] of [['vmlinux', 'x86_64', 'ELF'], ['vmlinuz', 'x86_64', 'bzImage (xz) -> ELF'], ['Image', 'aarch64', 'arm64 Image']] as const) {
    test(`${name}: build-id, uname strings, BTF, and tracefs's formats from the image's own tables`, () => {
      const image = readKernelImage(files[name]!);
      assert.equal(image.format, format);
      assert.equal(image.arch, arch);
      assert.equal(image.buildId, BUILD_ID);
      assert.equal(image.release, '6.99.0-test');
      assert.equal(image.version, BANNER.slice(BANNER.indexOf('#7')).trim());
      assert.equal(image.btfSha256, host.btf.sha256);

      const derived: DerivedProfile = deriveKernelProfile(image, host.tracepointNames ?? []);
      assert.equal(derived.method, 'image tables');
      // Only what the tables hold: this host's BTF declares ~1600 tracepoints, the image has two events.
      const events = derived.profile.tracepointNames!.filter((n) => !n.startsWith('syscalls:'));
      assert.deepEqual(events, Object.keys(EVENTS).sort());
      for (const tp of Object.keys(EVENTS)) {
        assert.deepEqual(layout(derived.profile.tracepoints[tp]!.fields), layout(host.tracepoints[tp]!.fields), tp);
        // Declarations as tracefs prints them (the table's `char[16]` becomes `char prev_comm[16]`).
        const decls = (fields: TracepointField[]) => fields.filter((f) => !f.name.startsWith('common_')).map((f) => f.decl);
        assert.deepEqual(decls(derived.profile.tracepoints[tp]!.fields), decls(host.tracepoints[tp]!.fields), tp);
      }
      const openat = derived.profile.tracepoints['syscalls:sys_enter_openat']!;
      assert.deepEqual(layout(openat.fields), layout(host.tracepoints['syscalls:sys_enter_openat']!.fields));
      assert.deepEqual(openat.fields.slice(-4).map((f) => f.decl), ['int dfd', 'const char * filename', 'int flags', 'umode_t mode']);
      assert.deepEqual(layout(derived.profile.tracepoints['syscalls:sys_exit_openat']!.fields), layout(host.tracepoints['syscalls:sys_exit_openat']!.fields));
      // Syscalls without metadata in the image have no tracepoints, whatever BTF's stubs say.
      assert.deepEqual(derived.profile.tracepointNames!.filter((n) => n.startsWith('syscalls:sys_enter_')).sort(), ['close', 'exit_group', 'mmap', 'openat', 'read', 'write'].map((s) => `syscalls:sys_enter_${s}`));
      // Every other event this BTF declares is reported, not dropped: this image's tables lack them.
      const notInTables = (u: { reason: string }) => u.reason.startsWith("BTF declares it but the image's event tables do not have it");
      assert.deepEqual(derived.underived.filter((u) => !notInTables(u)), []);
      assert.ok(derived.underived.length > 100, `${derived.underived.length} reported`);
      assert.ok(!derived.underived.some((u) => ['sched_switch', 'inet_sock_set_state'].includes(u.name)));
    });
  }

  test('an x86_64 image without a reference listing is refused: a profile without syscalls would say the kernel has none', () => {
    assert.throws(() => deriveKernelProfile(readKernelImage(files.vmlinux!), []), /cannot tell which syscalls this x86_64 kernel has: .*--names-from/);
  });

  test('a file that is no kernel image is refused with what it would take', () => {
    writeFileSync(join(dir, 'junk'), 'not a kernel');
    assert.throws(() => readKernelImage(join(dir, 'junk')), /is not a kernel image this can read \(ELF vmlinux, x86 bzImage, arm64 Image, gzip of one, or raw BTF\)/);
  });
});
