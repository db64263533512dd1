import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { isOwnedAlive, readPidFile, serviceDirs, type PidRecord, type ServiceName } from '@tapfleet/stack';

/** A process of the main job that exited while the demo ran. */
export interface LostProcess {
  name: string;
  pid: number;
  logFile: string;
  /** The last line of its log (often why it stopped), or '' if it wrote none. */
  lastLine: string;
}

/** The last non-empty line of a file, reading at most its last 8 KiB; '' if it is missing or empty. */
export function lastLogLine(file: string): string {
  let fd: number | undefined;
  try {
    const size = statSync(file).size;
    const length = Math.min(size, 8192);
    const buf = Buffer.alloc(length);
    fd = openSync(file, 'r');
    readSync(fd, buf, 0, length, size - length);
    const lines = buf.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean);
    return (lines.at(-1) ?? '').slice(0, 400);
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Watches the main job's processes (by their pid records, taken once everything is up): without
 * it a killed stage, agent or server left the demo printing nothing at all, its summary lines
 * simply stopping, while the page showed a flat line.
 */
export class ProcessWatch {
  private readonly watched: { name: ServiceName; rec: PidRecord; logFile: string }[];
  private readonly reported = new Set<string>();

  constructor(config: TapfleetConfig, names: readonly ServiceName[]) {
    this.watched = names.flatMap((name) => {
      const dirs = serviceDirs(config, name);
      const rec = readPidFile(dirs.pidFile);
      return isOwnedAlive(rec) ? [{ name, rec, logFile: dirs.logFile }] : [];
    });
  }

  /** How many processes are watched (those running when the watch began). */
  get size(): number {
    return this.watched.length;
  }

  /** The watched processes that exited since the last call (each reported once). */
  lost(): LostProcess[] {
    const gone = this.watched.filter((w) => !this.reported.has(w.name) && !isOwnedAlive(w.rec));
    for (const w of gone) this.reported.add(w.name);
    return gone.map((w) => ({ name: w.name, pid: w.rec.pid, logFile: w.logFile, lastLine: lastLogLine(w.logFile) }));
  }
}
