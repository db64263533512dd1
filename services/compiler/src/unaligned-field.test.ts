import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KernelProfile } from '@tapfleet/schemas';
import { frontEnd } from './compile.js';
import { FIXTURE_PROFILES } from './test-profile.test-fixtures.js';

const field = (decl: string, name: string, offset: number, size: number) => ({ decl, name, offset, size, signed: false });

/** tcp:tcp_retransmit_skb as 6.18 lays it out: `__u8 saddr[4]` sits at offset 34, not 4-aligned. */
const kernel: KernelProfile = {
  ...FIXTURE_PROFILES.kernel,
  tracepoints: {
    ...FIXTURE_PROFILES.kernel.tracepoints,
    'tcp:tcp_retransmit_skb': { id: 1, fields: [field('unsigned short common_type', 'common_type', 0, 2), field('const void * skaddr', 'skaddr', 16, 8), field('__u16 sport', 'sport', 28, 2), field('__u8 saddr[4]', 'saddr', 34, 4)] },
  },
  tracepointNames: [...FIXTURE_PROFILES.kernel.tracepointNames!, 'tcp:tcp_retransmit_skb'],
};

test('a misaligned tracepoint field is copied out of the record (the verifier refuses a misaligned context load)', () => {
  const fe = frontEnd({ file: 's.tap', text: 'probe tracepoint:tcp:tcp_retransmit_skb { emit r { a: args.saddr, p: args.sport, s: args.skaddr } }', kernel, binaries: [] });
  assert.deepEqual(fe.diagnostics.map((d) => d.message), []);
  assert.match(fe.c!, /bpf_probe_read_kernel\(&tf_f, sizeof\(tf_f\), \(char \*\)ctx \+ 34\)/);
  // Aligned fields stay plain loads.
  assert.match(fe.c!, /\(\(__s64\)\*\(__u16 \*\)\(\(char \*\)ctx \+ 28\)\)/);
  assert.match(fe.c!, /\(\(__s64\)\*\(__u64 \*\)\(\(char \*\)ctx \+ 16\)\)/);
});
