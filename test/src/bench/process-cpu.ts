/**
 * CPU time of the processes a bench started, read from /proc, grouped by what they are: where
 * the machine's cores went during a round. A process belongs to the bench when its command line
 * names the bench's own data directory (every stack server, tapfleet service, agent and runner of
 * a test stack does), it is one of the pids given, or it descends from one of those (a runner started
 * by an agent or by `tapfleet run`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

const TICKS_PER_S = 100;

interface ProcStat {
  ppid: string;
  /** user + system CPU seconds so far */
  cpu: number;
}

function procStat(pid: string): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised comm (which may contain spaces): ppid is 4, utime and stime 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: f[1]!, cpu: (Number(f[11]) + Number(f[12])) / TICKS_PER_S };
  } catch {
    return undefined;
  }
}

/** A short name: a tapfleet subcommand (`agent`, `ingest`, `run`, ...) or the program's file name. */
export function processLabel(argv: string[]): string {
  const cli = argv.findIndex((a) => a.endsWith('tapfleet.js'));
  if (cli >= 0 && argv[cli + 1]) return `tapfleet ${argv[cli + 1]}`;
  return basename(argv[0] ?? '?');
}

/** CPU seconds so far per label, over the processes that belong to the bench. */
export function cpuByLabel(dataDir: string, pids: number[] = []): Map<string, number> {
  const procs = new Map<string, { argv: string[]; stat: ProcStat }>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const stat = procStat(pid);
      if (stat) procs.set(pid, { argv, stat });
    } catch {
      // gone meanwhile
    }
  }
  const own = new Set(pids.map(String));
  for (const [pid, p] of procs) if (p.argv.some((a) => a.includes(dataDir))) own.add(pid);
  // Descendants, to any depth (the CLI's runner is a grandchild of the matched process).
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, p] of procs) if (!own.has(pid) && own.has(p.stat.ppid)) grew = Boolean(own.add(pid));
  }
  const out = new Map<string, number>();
  for (const pid of own) {
    const p = procs.get(pid);
    if (!p) continue;
    const label = processLabel(p.argv);
    out.set(label, (out.get(label) ?? 0) + p.stat.cpu);
  }
  return out;
}

/** after - before per label (a process that started in between counts from zero). */
export function cpuDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)]));
}

/** CPU seconds the whole machine has been busy (every process, everyone's), from /proc/stat. */
export function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - f[3]! - f[4]!) / TICKS_PER_S;
}
