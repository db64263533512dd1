import { z } from 'zod/v3';
import { BuildId, Sha256Hex } from './common.js';

/** One field of a tracepoint, as the kernel's own `format` file describes it. */
export const TracepointField = z.object({
  /** C declaration as written in the format file, e.g. `char prev_comm[16]`. */
  decl: z.string().min(1),
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a C identifier'),
  offset: z.number().int().safe().nonnegative(),
  /** 0 for a flexible array member (`char buf[]`), which has no fixed place to read from. */
  size: z.number().int().safe().nonnegative(),
  signed: z.boolean(),
});
export type TracepointField = z.infer<typeof TracepointField>;

export const TracepointFormat = z.object({
  /** The event's number on a running kernel (assigned at boot); absent in profiles derived from a kernel image. */
  id: z.number().int().safe().nonnegative().optional(),
  fields: z.array(TracepointField),
});
export type TracepointFormat = z.infer<typeof TracepointFormat>;

export const ProbeKind = z.enum(['tracepoint', 'uprobe', 'uretprobe', 'usdt', 'kprobe', 'kretprobe', 'fentry', 'interval', 'begin', 'end']);
export type ProbeKind = z.infer<typeof ProbeKind>;

/**
 * What an agent reports about its kernel. The compiler works from this only,
 * so a control plane can compile for a host it cannot see, reproducibly.
 */
export const KernelProfile = z.object({
  /** GNU build-id: the first NT_GNU_BUILD_ID note in /sys/kernel/notes. */
  buildId: BuildId,
  release: z.string().min(1),
  version: z.string().min(1),
  arch: z.enum(['x86_64', 'aarch64']),
  btf: z.object({ present: z.boolean(), sha256: Sha256Hex.optional() }),
  /** `subsys:event` -> format; only the tracepoints scripts use need to be present. */
  tracepoints: z.record(z.string().regex(/^[a-z0-9_]+:[a-z0-9_]+$/, 'expected subsys:event'), TracepointFormat),
  /** Every tracepoint name the host has (for alias variants "use A if present, else B"). */
  tracepointNames: z.array(z.string()).optional(),
  probeKinds: z.array(ProbeKind),
});
export type KernelProfile = z.infer<typeof KernelProfile>;

/**
 * The names a probe point's pattern matches (tracepoints as `subsystem:event`, or a binary's
 * function names), as bpftrace 0.17 matches them: `*` stands for any run of characters within
 * one part (it never crosses `:`).
 *
 * Matched part by part in linear time, not as a RegExp: `sys_enter_*************Q` made one of
 * `[^:]*` runs, whose backtracking took minutes per name (a `tapfleet check` never returned, a
 * deployment's compile held a control-plane worker for good); bpftrace lists it at once.
 */
export function matchPointPattern(pattern: string, names: readonly string[]): string[] {
  const parts = pattern.split(':');
  return names.filter((n) => {
    const nameParts = n.split(':');
    return nameParts.length === parts.length && parts.every((p, i) => globMatch(p, nameParts[i]!));
  });
}

/** `*` (any run of characters) against one part: the greedy two-index walk, back to the last `*` on a mismatch, O(pattern × text) at worst. */
function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let starText = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      starText = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++starText;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
