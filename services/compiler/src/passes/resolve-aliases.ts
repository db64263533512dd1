import type { Alias, Expr, Probe, ProbePoint, Script, Stmt } from '../ast.js';
import { AliasTable, aliasLabel } from '../alias-table.js';
import type { Diagnostics } from '../diagnostics.js';
import type { KernelProfile } from '@tapfleet/schemas';

export interface ResolvedProbePoint extends ProbePoint {
  /** Set when the point came from a paired alias: its start points, every one attached. */
  pairs?: ProbePoint[];
  /** The alias's explicit pair key (start side, end side); without it both sides key on the thread. */
  pairKey?: { start: Expr[]; end: Expr[] };
}

export interface AliasedProbe extends Omit<Probe, 'points'> {
  points: ResolvedProbePoint[];
  /** An alias it names could not be resolved (reported): its body is not checked, its locals would all be "unassigned". */
  unresolved?: boolean;
}

/** Why `point` cannot attach on this kernel, or undefined when it can (or is not a kernel point). */
export function unavailableReason(point: ProbePoint, kernel: KernelProfile): string | undefined {
  const [kind, ...rest] = point.text.split(':');
  if (kind === 'tracepoint' || kind === 't') {
    const name = rest.join(':');
    const known = kernel.tracepointNames ? kernel.tracepointNames.includes(name) : name in kernel.tracepoints;
    if (known) return undefined;
    const category = `${rest[0]}:`;
    const anyInCategory = (kernel.tracepointNames ?? Object.keys(kernel.tracepoints)).some((n) => n.startsWith(category));
    if (!anyInCategory && rest[0] === 'syscalls') return `it has no syscall tracepoints (built without CONFIG_FTRACE_SYSCALLS), so no ${name}`;
    return anyInCategory ? `it has no tracepoint ${name}` : `it has no ${rest[0]} tracepoints at all, so no ${name}`;
  }
  if ((kind === 'kprobe' || kind === 'kretprobe') && !kernel.probeKinds.includes('kprobe')) return `it has no kprobes, which ${point.text} needs`;
  if ((kind === 'fentry' || kind === 'fexit') && !kernel.probeKinds.includes('fentry')) return `it has no fentry/fexit (BPF trampolines), which ${point.text} needs`;
  return undefined;
}

/** Replaces each `$name` in a point's text with the host's path for that binary; calls `missing` for unknown names. */
export function substituteBinaries(text: string, binaries: Record<string, string>, missing: (name: string) => void = () => {}): string {
  const withPaths = text.replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, name: string) => {
    const path = binaries[name];
    if (path === undefined) missing(name);
    return path ?? whole;
  });
  // bpftrace's bare names (uprobe:libc:malloc): the path the host looked up for the name, if any
  // (@tapfleet/local's binary-names.ts); one it did not find is reported as the binary it is.
  const bare = BARE_BINARY.exec(withPaths);
  const path = bare ? binaries[bare[2]!] : undefined;
  return path ? `${bare![1]}:${path}${withPaths.slice(bare![0].length)}` : withPaths;
}

/** A user-space point whose binary is a name or a relative path, not an absolute path: `uprobe:libc`, `ur:bash`, `usdt:python3`, `u:./app`. */
const BARE_BINARY = /^(uprobe|uretprobe|usdt|ur|u|U):([A-Za-z0-9_.][A-Za-z0-9_.+/-]*)(?=:)/;

/** `$name` placeholders in the points that have no path, each named once, in order. */
function missingBinaries(points: ProbePoint[], binaries: Record<string, string>): string[] {
  const missing = new Set<string>();
  for (const p of points) substituteBinaries(p.text, binaries, (name) => missing.add(name));
  return [...missing];
}

/**
 * One diagnostic, at the probe point the user wrote, for every binary path its points lack:
 * without the path nothing else about the probe can be checked (its body would give false errors).
 */
function reportMissingBinaries(at: ProbePoint, missing: string[], diags: Diagnostics): void {
  const names = missing.map((n) => `$${n}`).join(', ');
  diags.error(at.span, `${at.text} needs the path of binary ${names}`, `give it with ${missing.map((n) => `--binary ${n}=/path/to/${n}`).join(' ')}`);
}

function substitute(point: ProbePoint, binaries: Record<string, string>): ProbePoint {
  return { text: substituteBinaries(point.text, binaries), span: point.span };
}

/**
 * The variant of `alias` this kernel supports, or the reason none is: the first variant that
 * attaches wins, and every start point of a pair must attach too.
 */
function chooseVariant(alias: Alias, kernel: KernelProfile): { variant: ProbePoint } | { why: string } {
  const reasons: string[] = [];
  const variant = alias.variants.find((v) => {
    const r = unavailableReason(v, kernel);
    if (r !== undefined) reasons.push(r);
    return r === undefined;
  });
  if (!variant) return { why: reasons.join('; ') };
  const startMissing = (alias.pairs ?? []).map((p) => unavailableReason(p, kernel)).find((r) => r !== undefined);
  return startMissing ? { why: `its start point is missing: ${startMissing}` } : { variant };
}

/**
 * Pass: resolve tapset aliases used as probe points (`NAME`, the newest version, or `NAME@N`).
 * The first variant the kernel profile supports wins; the alias's local assignments run before
 * the probe body.
 */
export function resolveAliases(script: Script, tapsetAliases: Alias[], kernel: KernelProfile, binaries: Record<string, string>, diags: Diagnostics): AliasedProbe[] {
  const table = new AliasTable([...tapsetAliases, ...script.aliases]);
  return script.probes.map((probe) => {
    const prelude: Stmt[] = [];
    const points: ResolvedProbePoint[] = [];
    let unresolved = false;
    for (const point of probe.points) {
      if (point.invalid) {
        unresolved = true; // its parameter was reported
        continue;
      }
      const found = table.lookup(point.text);
      if (found.kind === 'unknown-version') {
        diags.error(point.span, `alias ${found.name} has no version ${found.version}`, `its versions are ${found.versions.map((v) => `${found.name}@${v}`).join(', ')} (without @N, the newest)`);
        unresolved = true;
        continue;
      }
      if (found.kind === 'not-an-alias') {
        if (!point.text.includes(':') && !['begin', 'end'].includes(point.text)) {
          diags.error(point.span, `unknown probe point or alias '${point.text}'`, 'expected a probe point like tracepoint:sched:sched_switch, or an alias from tapsets/ (tapfleet tapsets lists them)');
          unresolved = true;
          continue;
        }
        const missing = missingBinaries([point], binaries);
        if (missing.length) {
          reportMissingBinaries(point, missing, diags);
          unresolved = true;
          continue;
        }
        points.push(substitute(point, binaries));
        continue;
      }
      const alias = found.alias;
      const choice = chooseVariant(alias, kernel);
      if ('why' in choice) {
        const starts = (alias.pairs ?? []).map((p) => p.text);
        diags.error(point.span, `alias ${aliasLabel(alias)} is unavailable on this kernel (${kernel.release}): ${choice.why}`, `it needs ${alias.variants.map((v) => v.text).join(' or ')}${starts.length ? ` paired with ${starts.join(' and ')}` : ''}`);
        unresolved = true;
        continue;
      }
      const missing = missingBinaries([choice.variant, ...(alias.pairs ?? [])], binaries);
      if (missing.length) {
        reportMissingBinaries(point, missing, diags);
        unresolved = true;
        continue;
      }
      const resolved: ResolvedProbePoint = { ...substitute(choice.variant, binaries), span: point.span };
      if (alias.pairs) resolved.pairs = alias.pairs.map((p) => ({ ...substitute(p, binaries), span: point.span }));
      if (alias.startKey && alias.endKey) resolved.pairKey = { start: alias.startKey.exprs, end: alias.endKey.exprs };
      points.push(resolved);
      if (prelude.length === 0) prelude.push(...alias.assigns);
    }
    return { ...probe, points, body: [...prelude, ...probe.body], ...(unresolved ? { unresolved } : {}) };
  });
}
