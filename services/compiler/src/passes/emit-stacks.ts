import type { Type } from '../types.js';
import type { Analysis } from './typecheck.js';
import { stackMapName, stackMapsFor } from './stack-keys.js';

/**
 * The C behind kstack/ustack: one stack-trace map per (kind, depth), and a key that packs the
 * stack id with the tgid a user stack belongs to (the owner reads that process's mappings to
 * symbolise it). Layout of the packed value: schemas' StackMap / unpackStackKey.
 */
export function stackMapsC(a: Analysis): string[] {
  if (!a.stacks.size) return [];
  const maps = stackMapsFor(a.stacks.values()).map((m) =>
    `struct {\n\t__uint(type, BPF_MAP_TYPE_STACK_TRACE);\n\t__uint(max_entries, ${m.maxEntries});\n\t__uint(key_size, sizeof(__u32));\n\t__uint(value_size, ${m.depth} * sizeof(__u64));\n} ${m.name} SEC(".maps");`,
  );
  return [
    ...maps,
    '',
    `/* No BPF_F_REUSE_STACKID: a stack whose hash bucket is taken gets -EEXIST (kept in the key, so
 * it is counted and shown) instead of silently overwriting a stack that keys already name. */
static __always_inline __s64 tf_stack_key(void *ctx, void *map, __u64 flags)
{
\t__s64 id = bpf_get_stackid(ctx, map, flags);
\t__u64 tgid = (flags & BPF_F_USER_STACK) ? bpf_get_current_pid_tgid() >> 32 : 0;
\treturn (__s64)((tgid << 32) | (__u32)id);
}`,
    '',
  ];
}

/** The packed stack key of a kstack/ustack expression of type `t`. */
export function stackKeyC(t: Type | undefined): string {
  if (t?.kind !== 'stack') return '0';
  return `tf_stack_key(ctx, &${stackMapName(t)}, ${t.user ? 'BPF_F_USER_STACK' : '0'})`;
}

/** A sampling probe's program: perf_event context, run by every CPU's cpu-clock event. */
export function profileProgram(name: string, body: string[]): string {
  return `SEC("perf_event")\nint ${name}(struct bpf_perf_event_data *ctx)\n{\n\tif (!tf_in_scope())\n\t\treturn 0;\n${body.join('\n')}\n\treturn 0;\n}\n`;
}
