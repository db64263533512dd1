import type { StackMap } from '@tapfleet/schemas';
import type { Type } from '../types.js';
import { stackMapName } from './stack-keys.js';

/**
 * The C behind kstack/ustack: one stack-trace map per (kind, depth) of the lowered `stacks`,
 * and keys packed by tf_stack_key (tapfleet.bpf.h) from the stack id and the tgid a user
 * stack belongs to. Layout of the packed value: schemas' StackMap / unpackStackKey.
 */
export function stackMapsC(stacks: StackMap[]): string[] {
  if (!stacks.length) return [];
  const maps = stacks.map((m) =>
    `struct {\n\t__uint(type, BPF_MAP_TYPE_STACK_TRACE);\n\t__uint(max_entries, ${m.maxEntries});\n\t__uint(key_size, sizeof(__u32));\n\t__uint(value_size, ${m.depth} * sizeof(__u64));\n} ${m.name} SEC(".maps");`,
  );
  return [...maps, ''];
}

/** The packed stack key of a kstack/ustack expression of type `t`. */
export function stackKeyC(t: Type | undefined): string {
  if (t?.kind !== 'stack') return '0';
  return `tf_stack_key(ctx, &${stackMapName(t)}, ${t.user ? 'BPF_F_USER_STACK' : '0'})`;
}

/**
 * A stack field of a record: the frames copied straight into the reserved ring-buffer record,
 * and how many bytes that was (or the negative errno). bpf_get_stack() zeroes what it did not
 * fill, so nothing of an earlier record shows through.
 */
export function stackFieldC(dest: string, t: Extract<Type, { kind: 'stack' }>): string {
  return `${dest}.bytes = bpf_get_stack(ctx, ${dest}.ips, sizeof(${dest}.ips), ${t.user ? 'BPF_F_USER_STACK' : '0'});`;
}

/** A sampling probe's program: perf_event context, run by every CPU's cpu-clock event. */
export function profileProgram(name: string, body: string[]): string {
  return `SEC("perf_event")\nint ${name}(struct bpf_perf_event_data *ctx)\n{\n\tif (!tf_in_scope())\n\t\treturn 0;\n${body.join('\n')}\n\treturn 0;\n}\n`;
}
