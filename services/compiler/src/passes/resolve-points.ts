import { parseUsdtArgs, type UsdtArgSpec } from './usdt-args.js';
import { syscallNumber } from './syscall-numbers.js';
import { parseProfilePoint } from './profile-point.js';
import { matchPointPattern, type BinaryProfile, type KernelProfile, type TracepointFormat, type UsdtNote } from '@tapfleet/schemas';
import type { Expr, ProbePoint } from '../ast.js';
import type { Diagnostics } from '../diagnostics.js';
import type { Span } from '../source.js';
import type { AliasedProbe } from './resolve-aliases.js';

export type Target =
  | {
      kind: 'tracepoint'; category: string; event: string; format: TracepointFormat;
      /** A syscall-entry tracepoint compiled to the raw `sys_enter` tracepoint, filtered by this number. */
      syscallNr?: number;
    }
  | { kind: 'uprobe' | 'uretprobe'; binary: string; symbol: string; offset: number }
  | {
      kind: 'usdt'; binary: string; provider: string; name: string; note: UsdtNote;
      /** Every site of provider:name (inlined code has several) with its file offsets. */
      sites: UsdtNote[];
      /** Arguments lowered to direct reads, when every site has the same spec; else usdt.bpf.h. */
      direct?: UsdtArgSpec[];
    }
  /** `name`: the point as bpftrace's `probe` spells it (the kind spelled out: `interval:s:1`). */
  | { kind: 'interval'; periodNs: number; name: string }
  /** Sampling on every CPU: `hz` samples a second, or one every `periodNs`. */
  | { kind: 'profile'; hz?: number; periodNs?: number }
  | { kind: 'begin' | 'end' };

export interface ResolvedPoint {
  target: Target;
  /**
   * Where @entry state is captured: for a uretprobe its entry uprobe; for a paired alias its
   * start points (each gets a program storing into the same start/end map).
   */
  entries?: Target[];
  /** A paired alias's explicit key, per side; absent: both sides key on the current thread. */
  pairKey?: { start: Expr[]; end: Expr[] };
  span: Span;
}

export interface ResolvedProbe extends Omit<AliasedProbe, 'points'> {
  points: ResolvedPoint[];
  index: number;
}

export interface ProfileSet {
  kernel: KernelProfile;
  /** Binary profiles by absolute path. */
  binaries: Map<string, BinaryProfile>;
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9 };

/** The longest interval:, 100 days (the manifest holds periods as exact integer ns). */
const MAX_INTERVAL_NS = 100 * 86_400 * 1e9;

const SHORT_KINDS: Record<string, string> = { t: 'tracepoint', u: 'uprobe', ur: 'uretprobe', U: 'usdt', k: 'kprobe', kr: 'kretprobe', i: 'interval', f: 'fentry', fr: 'fexit' };

/** What a bpftrace user probably meant by a probe kind that does not exist here. */
const KIND_HINTS: Record<string, string> = {
  kfunc: 'kfunc is fentry here (kretfunc is fexit); on this kernel a tracepoint is usually the way: ls /sys/kernel/tracing/events',
  kretfunc: 'kretfunc is fexit here; on this kernel a tracepoint is usually the way: ls /sys/kernel/tracing/events',
  rawtracepoint: 'use tracepoint:SUBSYSTEM:EVENT: syscall-entry tracepoints are already compiled to the raw sys_enter tracepoint',
  software: 'software events are not supported; interval:1s runs in user space, tracepoints in the kernel',
  hardware: 'hardware (PMU) events are not supported',
  watchpoint: 'watchpoints are not supported',
};

/**
 * The points a tracepoint pattern (`tracepoint:sched:sched_s*`, `t:syscalls:sys_enter_*`) stands
 * for, one per tracepoint of the kernel profile it matches, in name order; a point without `*`
 * as it is; undefined after reporting a pattern that matches nothing.
 */
function expandWildcard(point: ProbePoint, profiles: ProfileSet, diags: Diagnostics): ProbePoint[] | undefined {
  const [written, ...rest] = point.text.split(':');
  const kind = SHORT_KINDS[written!] ?? written;
  if (kind === 'usdt') return expandUsdt(point, rest, profiles, diags);
  if (!point.text.includes('*') || rest.length !== 2) return [point];
  if (kind === 'uprobe' || kind === 'uretprobe') {
    const bin = profiles.binaries.get(rest[0]!);
    if (!bin || rest[0]!.includes('*')) return [point]; // reported as the binary it is
    const matches = matchPointPattern(rest[1]!, [...new Set(bin.symbols.map((s) => s.name))].sort());
    if (matches.length === 0) {
      diags.error(point.span, `no function matches ${point.text} in ${bin.path}`, 'uprobes attach to functions in the ELF symbol table (.symtab or .dynsym); * matches any run of characters');
      return undefined;
    }
    return matches.map((m) => ({ text: `${kind}:${bin.path}:${m}`, span: point.span, wildcard: true }));
  }
  if (kind !== 'tracepoint') return [point];
  const names = profiles.kernel.tracepointNames ?? Object.keys(profiles.kernel.tracepoints);
  const matches = matchPointPattern(rest.join(':'), names);
  if (matches.length === 0) {
    diags.error(point.span, `no tracepoint matches ${point.text} on kernel ${profiles.kernel.release}`, 'list them with: ls /sys/kernel/tracing/events/SUBSYSTEM (* matches within one part)');
    return undefined;
  }
  return matches.map((m) => ({ text: `tracepoint:${m}`, span: point.span, wildcard: true }));
}

/**
 * The points a USDT pattern stands for, as bpftrace expands them: `usdt:BIN:PROVIDER:NAME` with
 * `*` in either part, or `usdt:BIN:NAME` (any provider; `usdt:BIN:*` is every probe of BIN),
 * one point per provider:name of the binary's notes that matches, in name order (the order
 * `bpftrace -l` lists them in). A point without `*` naming one provider is kept as written.
 */
function expandUsdt(point: ProbePoint, rest: string[], profiles: ProfileSet, diags: Diagnostics): ProbePoint[] | undefined {
  const [path, ...parts] = rest;
  if (path !== undefined && (parts.length === 1 || parts.length === 2) && parts.includes('')) {
    diags.error(point.span, `'${point.text}' names no USDT probe: its provider or name is empty`, 'write usdt:BIN:PROVIDER:NAME, usdt:BIN:NAME, or a * pattern (usdt:BIN:*)');
    return undefined;
  }
  if (path === undefined || (parts.length !== 1 && parts.length !== 2) || (parts.length === 2 && !point.text.includes('*'))) return [point];
  const bin = profiles.binaries.get(path);
  if (!bin || path.includes('*')) return [point]; // reported as the binary it is
  const pattern = parts.length === 1 ? `*:${parts[0]}` : parts.join(':');
  const probes = [...new Set(bin.usdt.map((n) => `${n.provider}:${n.name}`))];
  const matches = matchPointPattern(pattern, [...probes].sort());
  if (matches.length === 0) {
    const known = probes.slice(0, 8).join(', ');
    diags.error(point.span, `no USDT probe matches ${point.text} in ${bin.path}`, known ? `it has: ${known}` : 'it has no .note.stapsdt probes');
    return undefined;
  }
  return matches.map((m) => ({ text: `usdt:${bin.path}:${m}`, span: point.span, wildcard: true }));
}

/** bpftrace's `func` builtin: the function a uprobe or uretprobe is on. */
export function functionName(target: Target): string | undefined {
  return target.kind === 'uprobe' || target.kind === 'uretprobe' ? target.symbol : undefined;
}

/** bpftrace's `probe` builtin: the full name of the point a program runs for (short kinds spelled out). */
export function pointName(target: Target): string | undefined {
  switch (target.kind) {
    case 'tracepoint': return `tracepoint:${target.category}:${target.event}`;
    case 'uprobe': case 'uretprobe': return `${target.kind}:${target.binary}:${target.symbol}`;
    case 'usdt': return `usdt:${target.binary}:${target.provider}:${target.name}`;
    case 'profile': return target.hz !== undefined ? `profile:hz:${target.hz}` : undefined;
    case 'interval': return target.name;
    // bpftrace's spelling, whichever the script used.
    case 'begin': return 'BEGIN';
    case 'end': return 'END';
  }
}

function parsePoint(point: ProbePoint & { wildcard?: boolean }, profiles: ProfileSet, diags: Diagnostics): Target | undefined {
  const text = point.text;
  const err = (msg: string, hint?: string) => {
    diags.error(point.span, msg, hint);
    return undefined;
  };
  if (text === 'begin' || text === 'end') return { kind: text };
  const [written, ...rest] = text.split(':');
  // bpftrace's short forms (u:, ur:, U:, k:, kr:, i:) name the same kinds.
  const kind = SHORT_KINDS[written!] ?? written;
  switch (kind) {
    case 'tracepoint': {
      if (rest.length !== 2) return err(`'${text}' is not a tracepoint`, 'expected tracepoint:SUBSYSTEM:EVENT, e.g. tracepoint:sched:sched_switch');
      const name = `${rest[0]}:${rest[1]}`;
      const format = profiles.kernel.tracepoints[name];
      if (!format) {
        const exists = profiles.kernel.tracepointNames?.includes(name);
        return err(exists ? `the kernel profile lacks the format of tracepoint ${name}` : `no tracepoint ${name} on kernel ${profiles.kernel.release}`, 'list them with: ls /sys/kernel/tracing/events/SUBSYSTEM');
      }
      const nr = profiles.kernel.arch === 'x86_64' && rest[0] === 'syscalls' && rest[1]!.startsWith('sys_enter_') ? syscallNumber(rest[1]!.slice('sys_enter_'.length)) : undefined;
      // Raw only when every argument field is a register-sized integer or pointer (always, for syscalls).
      // A pattern's matches attach each to its own tracepoint, as bpftrace's do: 360 programs on the
      // raw sys_enter would all run on every syscall.
      const raw = nr !== undefined && !point.wildcard && format.fields.filter((f) => !f.name.startsWith('common_') && f.name !== '__syscall_nr').every((f) => f.size === 8);
      return { kind: 'tracepoint', category: rest[0]!, event: rest[1]!, format, ...(raw ? { syscallNr: nr } : {}) };
    }
    case 'uprobe':
    case 'uretprobe': {
      if (rest.length !== 2) return err(`'${text}' is not a ${kind}`, `expected ${kind}:/path/to/binary:function`);
      const bin = binaryFor(rest[0]!, point, profiles, diags);
      if (!bin) return undefined;
      const sym = bin.symbols.find((s) => s.name === rest[1]);
      if (!sym) return err(`no function '${rest[1]}' in ${bin.path}`, 'uprobes attach to functions in the ELF symbol table (.symtab or .dynsym)');
      return { kind, binary: bin.path, symbol: sym.name, offset: sym.fileOffset };
    }
    case 'usdt': {
      if (rest.length !== 3) return err(`'${text}' is not a USDT probe`, 'expected usdt:/path/to/binary:PROVIDER:NAME');
      const bin = binaryFor(rest[0]!, point, profiles, diags);
      if (!bin) return undefined;
      const note = bin.usdt.find((n) => n.provider === rest[1] && n.name === rest[2]);
      if (!note) {
        const known = [...new Set(bin.usdt.map((n) => `${n.provider}:${n.name}`))].slice(0, 8).join(', ');
        return err(`no USDT probe ${rest[1]}:${rest[2]} in ${bin.path}`, known ? `it has: ${known}` : 'it has no .note.stapsdt probes');
      }
      const sites = bin.usdt.filter((n) => n.provider === note.provider && n.name === note.name);
      const direct = sites.every((n) => n.fileOffset !== undefined && n.semaphoreFileOffset !== undefined && n.args === note.args) ? parseUsdtArgs(note.args) : undefined;
      return { kind: 'usdt', binary: bin.path, provider: note.provider, name: note.name, note, sites, ...(direct ? { direct } : {}) };
    }
    case 'interval': {
      // interval:1s (tapfleet) or bpftrace's interval:s:1 / interval:ms:100.
      const spec = rest.length === 2 ? `${rest[1]}${rest[0]}` : rest.join(':');
      const m = /^([1-9][0-9]*)(ns|us|ms|s|m)$/.exec(spec);
      if (!m) return err(`'${text}' is not an interval`, 'expected interval:N with a unit, e.g. interval:1s, interval:100ms, or bpftrace\'s interval:s:1, interval:ms:100');
      const periodNs = Number(m[1]) * UNITS[m[2]!]!;
      // Past 2^53 ns (~104 days) the period is no longer an exact integer in the manifest.
      if (!Number.isSafeInteger(periodNs) || periodNs > MAX_INTERVAL_NS) return err(`'${text}' is longer than an interval may be (100 days)`, 'use --duration to end a run after a long time');
      return { kind: 'interval', periodNs, name: `interval:${rest.join(':')}` };
    }
    case 'profile': {
      const p = parseProfilePoint(rest);
      return 'error' in p ? err(p.error, p.hint) : p;
    }
    case 'kprobe':
    case 'kretprobe':
    case 'fentry':
    case 'fexit':
      if (!profiles.kernel.probeKinds.includes(kind === 'fexit' ? 'fentry' : kind))
        return err(`${kind} probes are not supported by kernel ${profiles.kernel.release} (no ${kind === 'fentry' || kind === 'fexit' ? 'fentry support' : 'kprobes'})`, 'use a tracepoint instead; list them under /sys/kernel/tracing/events');
      return err(`${kind} probes are not implemented yet by this compiler`);
    default:
      return err(`unknown probe kind '${kind}'`, KIND_HINTS[kind!] ?? 'expected tracepoint:, uprobe:, uretprobe:, usdt:, profile:, interval:, begin or end');
  }
}

/** A uprobe or uretprobe whose binary is known and lacks its function (a pattern's matches never do). */
function absentFunction(point: ProbePoint, profiles: ProfileSet): { binary: string; symbol: string } | undefined {
  const [written, ...rest] = point.text.split(':');
  const kind = SHORT_KINDS[written!] ?? written;
  if ((kind !== 'uprobe' && kind !== 'uretprobe') || rest.length !== 2 || rest[1]!.includes('*')) return undefined;
  const bin = profiles.binaries.get(rest[0]!);
  return bin && !bin.symbols.some((s) => s.name === rest[1]) ? { binary: bin.path, symbol: rest[1]! } : undefined;
}

function binaryFor(path: string, point: ProbePoint, profiles: ProfileSet, diags: Diagnostics): BinaryProfile | undefined {
  const bin = profiles.binaries.get(path);
  if (!bin) diags.error(point.span, ...missingBinary(path));
  return bin;
}

function missingBinary(path: string): [string, string] {
  if (path.startsWith('/')) return [`no profile for binary ${path}`, 'does the file exist on this host?'];
  if (path.includes('/')) return [`no ELF file '${path}' from the current directory`, 'a relative path is opened from the directory tapfleet runs in, as bpftrace opens it; or give the absolute path'];
  return [`no executable or library '${path}' on this host`, `as in bpftrace, a name is looked up on $PATH, then in the ld.so cache as ${path}.so* (libc is libc.so.6); or give the absolute path`];
}

/** Pass: turn probe point text into attach targets checked against the kernel and binary profiles. */
export function resolvePoints(probes: AliasedProbe[], profiles: ProfileSet, diags: Diagnostics): ResolvedProbe[] {
  return probes.map((probe, index) => {
    const points: ResolvedPoint[] = [];
    // A point that does not resolve is reported once; its body is not checked (it would be
    // checked against the wrong kind of probe and give false second errors).
    let unresolved = probe.unresolved ?? false;
    const expanded = probe.points.flatMap((p) => {
      const each = expandWildcard(p, profiles, diags);
      if (!each) unresolved = true;
      return (each ?? []).map((x) => ({ ...p, ...x }));
    });
    // A point named twice (a pattern and one of its matches) attaches once, as in bpftrace.
    const named = new Set<string>();
    // bpftrace 0.17 attaches a probe's other points when one names a function its binary lacks
    // (ssllatency.bt's libcrypto internals): a warning here, an error when no point would remain.
    const absent = expanded.filter((p) => absentFunction(p, profiles));
    const skipped = new Set(absent.length < expanded.length ? absent : []);
    if (skipped.size) {
      const byBinary = new Map<string, Set<string>>();
      for (const p of absent) {
        const f = absentFunction(p, profiles)!;
        byBinary.set(f.binary, (byBinary.get(f.binary) ?? new Set()).add(f.symbol));
      }
      const missing = [...byBinary].map(([bin, fns]) => `${[...fns].join(', ')} in ${bin}`).join('; ');
      diags.warning(absent[0]!.span, `${skipped.size} of this probe's points are skipped, as bpftrace skips them: no function ${missing}`, 'the probe\'s other points attach; uprobes attach to functions in the ELF symbol table (.symtab or .dynsym)');
    }
    for (const p of expanded) {
      if (skipped.has(p)) continue;
      const target = parsePoint(p, profiles, diags);
      if (!target) {
        unresolved = true;
        continue;
      }
      const name = target.kind === 'interval' ? undefined : pointName(target);
      if (name !== undefined && named.has(name)) continue;
      if (name !== undefined) named.add(name);
      let entries: Target[] | undefined;
      if (target.kind === 'uretprobe') entries = [{ ...target, kind: 'uprobe' }];
      if (p.pairs) {
        const starts = p.pairs.map((s) => parsePoint(s, profiles, diags));
        if (starts.some((s) => !s)) {
          unresolved = true; // reported
          continue;
        }
        entries = starts as Target[];
      }
      points.push({ target, ...(entries ? { entries } : {}), ...(p.pairKey ? { pairKey: p.pairKey } : {}), span: p.span });
    }
    const kinds = new Set(points.map((p) => (p.target.kind === 'interval' || p.target.kind === 'begin' || p.target.kind === 'end' ? 'user' : 'kernel')));
    if (kinds.size > 1) diags.error(probe.span, 'a probe cannot mix kernel probe points with interval/begin/end', 'split it into two probes');
    return { ...probe, points, index, ...(unresolved ? { unresolved } : {}) };
  });
}

/** Every binary path and tracepoint a script's points name, so callers can build profiles first. */
export function referencedTargets(pointTexts: string[]): { binaries: string[]; tracepoints: string[] } {
  const binaries = new Set<string>();
  const tracepoints = new Set<string>();
  for (const text of pointTexts) {
    const [written, ...rest] = text.split(':');
    const kind = SHORT_KINDS[written!] ?? written;
    if ((kind === 'uprobe' || kind === 'uretprobe' || kind === 'usdt') && rest[0]) binaries.add(rest[0]);
    if (kind === 'tracepoint' && rest.length === 2) tracepoints.add(`${rest[0]}:${rest[1]}`);
  }
  return { binaries: [...binaries], tracepoints: [...tracepoints] };
}
