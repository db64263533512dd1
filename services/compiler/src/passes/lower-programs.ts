import type { AttachPoint, UserAction } from '@tapfleet/schemas';
import type { Stmt } from '../ast.js';
import type { Span } from '../source.js';
import { flatten } from './check-limits.js';
import type { ResolvedProbe, Target } from './resolve-points.js';
import { isUserSide } from './typecheck.js';
import { bodyUntilExit, USER_SIDE_PROGRAM_STATEMENTS } from './user-side-statements.js';

/** One BPF program in the object: what it implements and where the runner attaches it. */
export interface ProgramInfo {
  /** Its symbol in the object: `pP_I` for point I of probe P, `pP_I_entryJ` for that point's entry J (J = 0 unnumbered). */
  name: string;
  target: Target;
  /** The probe point it implements, for diagnostics about the built program (size, stack). */
  span: Span;
  probe: number;
  point: number;
  /** Set for a program that captures @entry state (a uretprobe's entry, a paired alias's start): which of the point's entries. */
  entry?: number;
  /** The manifest's attach entries for it: one, or one uprobe per site of a directly read USDT probe. */
  attach: AttachPoint[];
}

/**
 * A begin/end/interval body as the actions its owner carries out, in order (a begin probe's map
 * writes are its program's). A printf() is its record, sent by the program (inside an if, when it
 * ran), printed here at its place among the print() calls. An exit() inside an if is the program's
 * (it sends the exit record); print(), clear() and exit() otherwise stand at the top level.
 */
function userActions(whole: Stmt[]): UserAction[] {
  const body = bodyUntilExit(whole);
  const topLevel = new Set<Stmt>(body);
  return flatten(body).flatMap((s): UserAction[] => {
    if (s.kind !== 'printf' && !topLevel.has(s)) return [];
    switch (s.kind) {
      case 'print': return [{ op: 'print', map: s.map, ...(s.top && s.top.value > 0n ? { top: Number(s.top.value) } : {}), ...(s.div && s.div.value > 1n ? { div: Number(s.div.value) } : {}) }];
      case 'clear': return [{ op: 'clear', map: s.map }];
      case 'printf': return s.record ? [{ op: 'printf', record: s.record }] : [];
      case 'exit': return [{ op: 'exit' }];
      default: return [];
    }
  });
}

/** Where the runner attaches program `name` for kernel-side target `t` (none for a user-side one). */
function kernelAttach(name: string, t: Target): AttachPoint[] {
  switch (t.kind) {
    case 'tracepoint':
      if (t.syscallNr !== undefined) return [{ kind: 'raw_tracepoint', program: name, name: 'sys_enter' }];
      return [{ kind: 'tracepoint', program: name, category: t.category, event: t.event }];
    case 'uprobe': case 'uretprobe': return [{ kind: t.kind, program: name, binary: t.binary, symbol: t.symbol, offset: t.offset }];
    case 'usdt':
      // Direct reads: the same program as a uprobe on every site, the semaphore as its reference counter.
      if (t.direct)
        return t.sites.map((site) => ({ kind: 'uprobe', program: name, binary: t.binary, symbol: `usdt:${t.provider}:${t.name}`, offset: site.fileOffset!, ...(site.semaphoreFileOffset ? { refCtrOffset: site.semaphoreFileOffset } : {}) }));
      return [{ kind: 'usdt', program: name, binary: t.binary, provider: t.provider, name: t.name }];
    case 'profile': return [{ kind: 'perf_event', program: name, sample: t.hz !== undefined ? { hz: t.hz } : { periodNs: t.periodNs! } }];
    default: return [];
  }
}

/**
 * The object's programs, in the order emit-c writes them (for each point: its entries, then
 * the point), and the manifest's attach list: every program's kernel attach points in that
 * order, then the user-side probes (interval, begin, end) with their actions.
 */
export function lowerPrograms(probes: ResolvedProbe[]): { programs: ProgramInfo[]; attach: AttachPoint[] } {
  const programs: ProgramInfo[] = [];
  for (const probe of probes) {
    if (probe.points.every((p) => isUserSide(p.target))) continue;
    probe.points.forEach((point, i) => {
      const name = `p${probe.index}_${i}`;
      (point.entries ?? []).forEach((entry, j) => {
        const entryName = `${name}_entry${j === 0 ? '' : j}`;
        programs.push({ name: entryName, target: entry, span: point.span, probe: probe.index, point: i, entry: j, attach: kernelAttach(entryName, entry) });
      });
      programs.push({ name, target: point.target, span: point.span, probe: probe.index, point: i, attach: kernelAttach(name, point.target) });
    });
  }
  const attach = programs.flatMap((p) => p.attach);
  for (const probe of probes) {
    // A user-side probe's map writes: one program the runner runs (begin: before any probe attaches; end, interval: at each firing), never attached.
    const kernel = probe.points.length > 0 && probe.points.every((p) => isUserSide(p.target)) && bodyUntilExit(probe.body).some((s) => USER_SIDE_PROGRAM_STATEMENTS.has(s.kind)) ? `p${probe.index}_0` : undefined;
    if (kernel) programs.push({ name: kernel, target: probe.points[0]!.target, span: probe.points[0]!.span, probe: probe.index, point: 0, attach: [] });
    for (const p of probe.points) {
      if (p.target.kind === 'interval') attach.push({ kind: 'interval', periodNs: p.target.periodNs, actions: userActions(probe.body), ...(kernel ? { kernel } : {}) });
      if (p.target.kind === 'begin' || p.target.kind === 'end') attach.push({ kind: p.target.kind, actions: userActions(probe.body), ...(kernel ? { kernel } : {}) });
    }
  }
  return { programs, attach };
}
