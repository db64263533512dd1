import { readFileSync, statSync } from 'node:fs';
import type { ElfSymbol } from '@tapfleet/schemas';
import { readElfFunctions } from '../profile/binary-profile.js';

/** One executable mapping of /proc/PID/maps. */
export interface Mapping {
  start: bigint;
  end: bigint;
  fileOffset: bigint;
  /** dev:inode, which names the file even after it is replaced on disk. */
  file: string;
  path: string;
}

/** Parses /proc/PID/maps text, keeping executable file mappings. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s+(\/.*)$/.exec(line);
    if (!m || m[3]![2] !== 'x' || m[6] === '0') continue;
    out.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), fileOffset: BigInt(`0x${m[4]}`), file: `${m[5]}:${m[6]}`, path: m[7]!.replace(/ \(deleted\)$/, '') });
  }
  return out;
}

/** Function symbols of one file sorted by file offset, for `name+offset` lookups. */
export class FileSymbols {
  private readonly starts: number[];
  constructor(private readonly symbols: ElfSymbol[]) {
    this.symbols = [...symbols].sort((a, b) => a.fileOffset - b.fileOffset);
    this.starts = this.symbols.map((s) => s.fileOffset);
  }

  /** The function holding file offset `off` (the nearest one below when sizes are unknown). */
  frame(off: number): string | undefined {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= off) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found === -1) return undefined;
    const s = this.symbols[found]!;
    if (s.size > 0 && off >= s.fileOffset + s.size) return undefined;
    return `${s.name}+${off - s.fileOffset}`;
  }
}

export interface UserSymbolLimits {
  /** Processes whose mappings are kept. */
  maxProcesses: number;
  /** Files whose symbol tables are kept. */
  maxFiles: number;
  /** Larger files are not read (their frames print as hex). */
  maxFileBytes: number;
}

export const DEFAULT_USER_SYMBOL_LIMITS: UserSymbolLimits = { maxProcesses: 256, maxFiles: 64, maxFileBytes: 256 << 20 };

/** Drops the oldest entry past `max` (Map keeps insertion order). */
function bounded<K, V>(m: Map<K, V>, max: number): void {
  while (m.size > max) m.delete(m.keys().next().value as K);
}

/**
 * User addresses to `function+offset` through /proc/PID/maps and the ELF symbol tables of
 * the mapped files, read through /proc/PID/root (a container's files are its own). Mappings
 * are cached per process (re-read once when an address falls outside them: a dlopen), symbol
 * tables per file (dev:inode), both bounded. Unknown frames print as hex, as in bpftrace.
 */
export class UserSymbols {
  private readonly maps = new Map<number, Mapping[]>();
  private readonly files = new Map<string, FileSymbols | undefined>();
  /** Processes whose mappings were re-read this round: a hex frame must not re-read them per frame. */
  private readonly refreshed = new Set<number>();

  constructor(private readonly limits: UserSymbolLimits = DEFAULT_USER_SYMBOL_LIMITS) {}

  private mappings(pid: number, refresh: boolean): Mapping[] {
    let m = this.maps.get(pid);
    if (m && !refresh) return m;
    try {
      m = parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8'));
    } catch {
      m ??= []; // gone: keep what was read while it lived
    }
    this.maps.delete(pid);
    this.maps.set(pid, m);
    bounded(this.maps, this.limits.maxProcesses);
    return m;
  }

  private fileSymbols(pid: number, map: Mapping): FileSymbols | undefined {
    if (this.files.has(map.file)) return this.files.get(map.file);
    let syms: FileSymbols | undefined;
    for (const path of [`/proc/${pid}/root${map.path}`, map.path]) {
      try {
        if (statSync(path).size > this.limits.maxFileBytes) break;
        syms = new FileSymbols(readElfFunctions(path).symbols);
        break;
      } catch {
        // not readable this way (or not an ELF): try the next, else hex frames
      }
    }
    this.files.set(map.file, syms);
    bounded(this.files, this.limits.maxFiles);
    return syms;
  }

  /** Starts a round of lookups (one snapshot): each process's mappings may be re-read once in it. */
  beginRound(): void {
    this.roundAt = Date.now();
    this.refreshed.clear();
  }

  /**
   * For lookups that come with no snapshot (event records, ksym()/usym() keys): a new round once
   * the last began a second ago, so a process's mappings are re-read at most once a second (a
   * frame in a library it mapped since).
   */
  beginRoundIfStale(): void {
    if (Date.now() - this.roundAt >= 1000) this.beginRound();
  }

  private roundAt = 0;

  /** Remembers a process's mappings now, while it is alive, for frames symbolised later. */
  note(pid: number): void {
    if (!this.maps.has(pid)) this.mappings(pid, false);
  }

  frame(pid: number, addr: bigint): string {
    const find = (ms: Mapping[]) => ms.find((m) => addr >= m.start && addr < m.end);
    let map = find(this.mappings(pid, false));
    if (!map && !this.refreshed.has(pid)) {
      this.refreshed.add(pid);
      map = find(this.mappings(pid, true));
    }
    const name = map ? this.fileSymbols(pid, map)?.frame(Number(addr - map.start + map.fileOffset)) : undefined;
    return name ?? `0x${addr.toString(16)}`;
  }
}
