import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { Logger } from '@tapfleet/runtime';
import type { AssemblerConfig, TxnSpanRow } from '@tapfleet/schemas';
import { HostResources, toReadableSpan } from './otlp-spans.js';

export interface ExportCounters {
  exported(n: number): void;
  dropped(n: number): void;
  failed(): void;
  queued(n: number): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Spans to an OTLP/HTTP (protobuf) collector, in batches, from a bounded queue. A collector
 * that does not answer is retried with backoff (up to 10 s between tries) while spans wait;
 * when the queue is full new spans are dropped and counted, never the process's memory.
 * Spans are stored in ClickHouse before they get here, so a drop loses the export only.
 */
export class SpanExporter {
  private readonly queue: TxnSpanRow[] = [];
  private readonly exporter: OTLPTraceExporter;
  private readonly resources = new HostResources();
  private stopped = false;
  private wake?: () => void;
  private loop?: Promise<void>;

  constructor(
    private readonly o: AssemblerConfig['otlp'] & { url: string },
    private readonly counters: ExportCounters,
    private readonly log: Logger,
  ) {
    this.exporter = new OTLPTraceExporter({ url: o.url, headers: o.headers, timeoutMillis: o.timeoutMs, concurrencyLimit: 2 });
  }

  start(): void {
    this.loop = this.run();
  }

  get queued(): number {
    return this.queue.length;
  }

  enqueue(rows: readonly TxnSpanRow[]): void {
    const room = this.o.maxQueueSpans - this.queue.length;
    if (rows.length > room) this.counters.dropped(rows.length - Math.max(0, room));
    for (let i = 0; i < Math.min(room, rows.length); i++) this.queue.push(rows[i]!);
    this.counters.queued(this.queue.length);
    this.wake?.();
  }

  private exportOnce(rows: TxnSpanRow[]): Promise<boolean> {
    return new Promise((resolve) => {
      this.exporter.export(rows.map((r) => toReadableSpan(r, this.resources)), (result) => {
        if (result.code !== ExportResultCode.SUCCESS) this.log.warn({ err: result.error?.message, spans: rows.length }, 'OTLP export failed; retrying');
        resolve(result.code === ExportResultCode.SUCCESS);
      });
    });
  }

  private async run(): Promise<void> {
    let backoff = 200;
    while (!this.stopped || this.queue.length) {
      if (!this.queue.length) {
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, 200);
        });
        continue;
      }
      const batch = this.queue.slice(0, this.o.maxBatchSpans);
      if (await this.exportOnce(batch)) {
        this.queue.splice(0, batch.length);
        this.counters.exported(batch.length);
        this.counters.queued(this.queue.length);
        backoff = 200;
      } else {
        this.counters.failed();
        if (this.stopped) break; // stopping: what is left stays counted as queued
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  /** Tries to deliver what is queued for up to `graceMs`, then stops. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await Promise.race([this.loop, sleep(graceMs)]);
    if (this.queue.length) {
      this.counters.dropped(this.queue.length);
      this.queue.length = 0;
    }
    await this.exporter.shutdown().catch(() => undefined);
  }
}
