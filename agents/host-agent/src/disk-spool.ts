import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchFormatError, decodeEventBatch } from '@tapfleet/schemas';

export interface SpoolEntry {
  file: string;
  bytes: number;
  deploymentId: string;
  count: number;
  /** Being re-published right now: not a candidate for dropping. */
  sending: boolean;
}

export interface SpoolEvents {
  /** The oldest batches were dropped to make room (or one batch was larger than the spool). */
  onDrop(deploymentId: string, events: number): void;
  /** A file in the spool directory was not a readable batch; it is moved aside, never replayed. */
  onCorrupt(file: string, reason: string): void;
}

/**
 * Bounded on-disk FIFO of encoded event batches, for when NATS is away. Files survive
 * an agent restart and are replayed then. When full, the oldest batches go, and the
 * events they held are counted (end-to-end loss accounting), never lost silently.
 */
export class DiskSpool {
  private readonly entries: SpoolEntry[] = [];
  private next = 0;
  totalBytes = 0;

  constructor(private readonly dir: string, private readonly maxBytes: number, private readonly events: SpoolEvents) {
    mkdirSync(dir, { recursive: true });
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.tfb')).sort()) {
      const bytes = readFileSync(join(dir, file));
      try {
        const { header } = decodeEventBatch(bytes);
        this.entries.push({ file, bytes: bytes.length, deploymentId: header.deploymentId, count: header.count, sending: false });
        this.totalBytes += bytes.length;
      } catch (e) {
        if (!(e instanceof BatchFormatError)) throw e;
        renameSync(join(dir, file), join(dir, `${file}.corrupt`));
        this.events.onCorrupt(file, e.message);
      }
      this.next = Math.max(this.next, Number.parseInt(file, 10) + 1);
    }
  }

  get length(): number {
    return this.entries.length;
  }

  /** Writes atomically (temp file + rename): a crash never leaves half a batch to replay. */
  append(batch: Uint8Array, deploymentId: string, count: number): void {
    if (batch.length > this.maxBytes) {
      this.events.onDrop(deploymentId, count);
      return;
    }
    while (this.totalBytes + batch.length > this.maxBytes) {
      const victim = this.entries.findIndex((e) => !e.sending);
      if (victim === -1) break;
      const [dropped] = this.entries.splice(victim, 1);
      this.delete(dropped!);
      this.events.onDrop(dropped!.deploymentId, dropped!.count);
    }
    const file = `${String(this.next++).padStart(16, '0')}.tfb`;
    writeFileSync(join(this.dir, `${file}.tmp`), batch);
    renameSync(join(this.dir, `${file}.tmp`), join(this.dir, file));
    this.entries.push({ file, bytes: batch.length, deploymentId, count, sending: false });
    this.totalBytes += batch.length;
  }

  /** The oldest batch not already being sent, marked as sending. */
  takeOldest(): { entry: SpoolEntry; batch: Uint8Array } | undefined {
    const entry = this.entries.find((e) => !e.sending);
    if (!entry) return undefined;
    entry.sending = true;
    return { entry, batch: readFileSync(join(this.dir, entry.file)) };
  }

  /** The batch was acknowledged: forget it. */
  done(entry: SpoolEntry): void {
    const i = this.entries.indexOf(entry);
    if (i === -1) return;
    this.entries.splice(i, 1);
    this.delete(entry);
  }

  /** Sending failed: keep it at its place for the next attempt. */
  release(entry: SpoolEntry): void {
    entry.sending = false;
  }

  private delete(entry: SpoolEntry): void {
    this.totalBytes -= entry.bytes;
    rmSync(join(this.dir, entry.file), { force: true });
  }
}
