import type { Alias, Probe, ProbePoint, Script, Stmt } from '../ast.js';
import type { Diagnostics } from '../diagnostics.js';
import type { KernelProfile } from '@tapfleet/schemas';

export interface ResolvedProbePoint extends ProbePoint {
  /** Set when the point came from an alias: the start point of a start/end pair. */
  pairs?: ProbePoint;
}

export interface AliasedProbe extends Omit<Probe, 'points'> {
  points: ResolvedProbePoint[];
}

/** A point is usable on this kernel if it is not a tracepoint, or the tracepoint exists. */
function available(point: ProbePoint, kernel: KernelProfile): boolean {
  const m = /^tracepoint:([a-z0-9_]+):([a-z0-9_]+)$/.exec(point.text);
  if (!m) return true;
  const name = `${m[1]}:${m[2]}`;
  return kernel.tracepointNames ? kernel.tracepointNames.includes(name) : name in kernel.tracepoints;
}

/** Replaces each `$name` in a point's text with the host's path for that binary; calls `missing` for unknown names. */
export function substituteBinaries(text: string, binaries: Record<string, string>, missing: (name: string) => void = () => {}): string {
  return text.replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, name: string) => {
    const path = binaries[name];
    if (path === undefined) missing(name);
    return path ?? whole;
  });
}

function substitute(point: ProbePoint, binaries: Record<string, string>, diags: Diagnostics): ProbePoint {
  const text = substituteBinaries(point.text, binaries, (name) =>
    diags.error(point.span, `no path configured for binary $${name}`, `give it with --binary ${name}=/path/to/${name}`),
  );
  return { text, span: point.span };
}

/**
 * Pass: resolve tapset aliases used as probe points. The first variant the kernel
 * profile supports wins; the alias's local assignments run before the probe body.
 */
export function resolveAliases(script: Script, tapsetAliases: Alias[], kernel: KernelProfile, binaries: Record<string, string>, diags: Diagnostics): AliasedProbe[] {
  const aliases = new Map<string, Alias>();
  for (const a of [...tapsetAliases, ...script.aliases]) aliases.set(a.name, a);
  return script.probes.map((probe) => {
    const prelude: Stmt[] = [];
    const points: ResolvedProbePoint[] = [];
    for (const point of probe.points) {
      const alias = aliases.get(point.text);
      if (!alias) {
        if (!point.text.includes(':') && !['begin', 'end'].includes(point.text))
          diags.error(point.span, `unknown probe point or alias '${point.text}'`, 'expected a probe point like tracepoint:sched:sched_switch, or an alias from tapsets/');
        points.push(substitute(point, binaries, diags));
        continue;
      }
      const variant = alias.variants.find((v) => available(v, kernel));
      if (!variant) {
        diags.error(point.span, `alias ${alias.name} has no variant this kernel supports (${alias.variants.map((v) => v.text).join(' | ')})`);
        continue;
      }
      const resolved: ResolvedProbePoint = { ...substitute(variant, binaries, diags), span: point.span };
      if (alias.pairs) resolved.pairs = { ...substitute(alias.pairs, binaries, diags), span: point.span };
      points.push(resolved);
      if (prelude.length === 0) prelude.push(...alias.assigns);
    }
    return { ...probe, points, body: [...prelude, ...probe.body] };
  });
}
