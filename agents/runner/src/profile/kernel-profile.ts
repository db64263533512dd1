import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { KernelProfile, ProbeKind, TracepointFormat } from '@tapfleet/schemas';
import { gnuBuildId, matchPointPattern, parseNotes } from '@tapfleet/schemas';

export const TRACEFS = '/sys/kernel/tracing';

export class ProfileError extends Error {
  readonly code = 'TAPFLEET_PROFILE';
}

export function kernelBuildId(): string {
  const id = gnuBuildId(parseNotes(readFileSync('/sys/kernel/notes')));
  if (!id) throw new ProfileError('no GNU build-id note in /sys/kernel/notes');
  return id;
}

/** Parses a tracefs `format` file into field offsets and sizes. */
export function parseTracepointFormat(text: string): TracepointFormat {
  const id = Number(/^ID:\s*(\d+)/m.exec(text)?.[1] ?? NaN);
  const fields = [];
  for (const m of text.matchAll(/^\s*field:([^;]+);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d);/gm)) {
    const decl = m[1]!.trim();
    const name = /([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?\s*$/.exec(decl)?.[1];
    if (!name) continue;
    fields.push({ decl, name, offset: Number(m[2]), size: Number(m[3]), signed: m[4] === '1' });
  }
  if (Number.isNaN(id)) throw new ProfileError('tracepoint format without an ID line');
  return { id, fields };
}

export function tracepointNames(): string[] {
  const root = `${TRACEFS}/events`;
  if (!existsSync(root)) return [];
  const names: string[] = [];
  for (const cat of readdirSync(root, { withFileTypes: true })) {
    if (!cat.isDirectory()) continue;
    for (const ev of readdirSync(`${root}/${cat.name}`, { withFileTypes: true }))
      if (ev.isDirectory() && /^[a-z0-9_]+$/.test(ev.name) && /^[a-z0-9_]+$/.test(cat.name)) names.push(`${cat.name}:${ev.name}`);
  }
  return names.sort();
}

/**
 * This host's kernel profile. Formats are read only for `tracepoints` (the ones a
 * script uses); `all` reads every format (large: thousands of tracepoints). `btfDigest: false`
 * skips hashing the 5 MB BTF blob (a local compile never reads the digest; the fleet's profiles do).
 */
export function hostKernelProfile(tracepoints: readonly string[] | 'all' = [], { btfDigest = true }: { btfDigest?: boolean } = {}): KernelProfile {
  const names = tracepointNames();
  // A pattern (tracepoint:sched:sched_s*) wants every tracepoint it matches.
  const wanted = tracepoints === 'all' ? names : [...new Set(tracepoints.flatMap((t) => (t.includes('*') ? matchPointPattern(t, names) : names.includes(t) ? [t] : [])))];
  const formats: Record<string, TracepointFormat> = {};
  for (const tp of wanted) {
    const [cat, ev] = tp.split(':');
    formats[tp] = parseTracepointFormat(readFileSync(`${TRACEFS}/events/${cat}/${ev}/format`, 'utf8'));
  }
  const btfPath = '/sys/kernel/btf/vmlinux';
  const btf = !existsSync(btfPath) ? { present: false } : btfDigest ? { present: true, sha256: createHash('sha256').update(readFileSync(btfPath)).digest('hex') } : { present: true };
  const kinds: ProbeKind[] = ['interval', 'begin', 'end'];
  if (names.length) kinds.push('tracepoint');
  if (existsSync(`${TRACEFS}/uprobe_events`)) kinds.push('uprobe', 'uretprobe', 'usdt');
  if (existsSync(`${TRACEFS}/kprobe_events`)) kinds.push('kprobe', 'kretprobe');
  return {
    buildId: kernelBuildId(),
    release: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    version: readFileSync('/proc/sys/kernel/version', 'utf8').trim(),
    arch: process.arch === 'arm64' ? 'aarch64' : 'x86_64',
    btf,
    tracepoints: formats,
    tracepointNames: names,
    probeKinds: kinds,
  };
}
