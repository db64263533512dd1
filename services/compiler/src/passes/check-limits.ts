import type { Stmt } from '../ast.js';
import type { Diagnostics } from '../diagnostics.js';
import { EVENT_NAME, LIMITS } from '../limits.js';
import type { Span } from '../source.js';
import type { Lowered } from './lower.js';
import type { ResolvedProbe } from './resolve-points.js';
import type { Analysis } from './typecheck.js';

/** Statements of a body in source order, nested ones included (depth is bounded by the parser). */
export function flatten(body: Stmt[], out: Stmt[] = []): Stmt[] {
  for (const s of body) {
    out.push(s);
    if (s.kind === 'if') {
      flatten(s.then, out);
      flatten(s.else, out);
    }
  }
  return out;
}

/**
 * Pass: refuse at compile time what the runner or the kernel would refuse at load on
 * every host (see limits.ts), pointing at the probe, map or emit that crosses the limit. Sizes
 * and attach points are the lowered ones: what the runner and the kernel will be given.
 */
export function checkLimits(probes: ResolvedProbe[], a: Analysis, lowered: Lowered, diags: Diagnostics): void {
  if (probes.length > LIMITS.maxProbes)
    diags.error(probes[LIMITS.maxProbes]!.span, `this script has more than ${LIMITS.maxProbes} probes`, `the runner attaches at most ${LIMITS.maxAttachPoints} points per bundle: combine probes with a list of points, or deploy several scripts`);
  checkAttach(lowered, diags);
  const maps = [...a.maps.values()];
  if (maps.length > LIMITS.maxMaps)
    diags.error(maps[LIMITS.maxMaps]!.span, `this script has more than ${LIMITS.maxMaps} maps`, `the runner snapshots at most ${LIMITS.maxMaps} aggregation maps per bundle: key one map by more fields instead of many maps`);
  else if (maps.length + a.stacks.size > LIMITS.maxMaps)
    diags.error(maps[LIMITS.maxMaps - a.stacks.size]!.span, `this script has more than ${LIMITS.maxMaps} maps, counting its ${a.stacks.size} stack map(s)`, `the runner snapshots at most ${LIMITS.maxMaps} maps per bundle, each kstack/ustack depth one of them`);
  for (const m of maps) {
    const keyBytes = lowered.maps.get(m.name)!.keySize;
    if (keyBytes > LIMITS.maxMapKeyBytes)
      diags.error(m.span, `the key of ${m.name} is ${keyBytes} bytes, more than ${LIMITS.maxMapKeyBytes}`, 'keys are built on the 512-byte BPF stack: use fewer or shorter string keys, e.g. str(p, 32)');
  }
  for (const probe of probes) checkProbe(probe, a, diags);
  checkEvents(probes, lowered, diags);
}

/** The attach points of all programs, counted point by point (a point's entry programs with it). */
function checkAttach(lowered: Lowered, diags: Diagnostics): void {
  const programs = lowered.programs;
  let attach = 0;
  for (let i = 0; i < programs.length;) {
    const first = programs[i]!;
    for (; i < programs.length && programs[i]!.probe === first.probe && programs[i]!.point === first.point; i++) attach += programs[i]!.attach.length;
    if (attach > LIMITS.maxAttachPoints) {
      diags.error(first.span, `probe points attach at more than ${LIMITS.maxAttachPoints} places: this one brings the total to ${attach}`, `the runner attaches at most ${LIMITS.maxAttachPoints} points per bundle (a USDT probe counts each site, a uretprobe or paired alias two): deploy several scripts`);
      return;
    }
  }
}

function checkProbe(probe: ResolvedProbe, a: Analysis, diags: Diagnostics): void {
  const used = new Set<string>();
  for (const s of flatten(probe.body)) {
    if (s.kind !== 'agg' && s.kind !== 'delete' && s.kind !== 'assign') continue;
    if (used.has(s.map)) continue;
    used.add(s.map);
    if (used.size === LIMITS.maxMapsPerProbe + 1)
      diags.error(s.span, `this probe uses more than ${LIMITS.maxMapsPerProbe} maps`, 'the kernel lets one BPF program use 64 maps, 5 of them the bundle\'s own: split the work across probes');
  }
}

function checkEvents(probes: ResolvedProbe[], lowered: Lowered, diags: Diagnostics): void {
  const first = new Map<string, Extract<Stmt, { kind: 'emit' }>>();
  const printfs: Extract<Stmt, { kind: 'printf' }>[] = [];
  for (const probe of probes)
    for (const s of flatten(probe.body)) {
      if (s.kind === 'emit' && !first.has(s.event)) first.set(s.event, s);
      if (s.kind === 'printf' && s.record) printfs.push(s);
    }
  let n = 0;
  for (const [name, s] of first) {
    if (++n === LIMITS.maxEvents + 1) diags.error(s.span, `this script emits more than ${LIMITS.maxEvents} kinds of event`);
    if (!EVENT_NAME.test(name)) nameError(diags, s.span, `event name '${name}'`);
    for (const f of s.fields) if (!EVENT_NAME.test(f.name)) nameError(diags, f.span, `field name '${f.name}'`);
    const size = lowered.events.get(name)?.size ?? 0;
    if (size > LIMITS.maxEventBytes)
      diags.error(s.span, `event ${name} is ${size} bytes, more than ${LIMITS.maxEventBytes}`, 'emit fewer or shorter strings (str(p, n) bounds one), or split the event');
  }
  for (const s of printfs) {
    const size = lowered.events.get(s.record!)?.size ?? 0;
    if (size > LIMITS.maxEventBytes)
      diags.error(s.span, `this printf() record is ${size} bytes, more than ${LIMITS.maxEventBytes}`, 'print fewer or shorter strings (str(p, n) bounds one)');
  }
}

function nameError(diags: Diagnostics, span: Span, what: string): void {
  diags.error(span, `${what} must be a lower-case identifier`, 'events and their fields become ClickHouse columns: use letters a-z, digits and _');
}
