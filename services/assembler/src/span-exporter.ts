/** The OTLP exporter, apart from the package index so that loading the CLI does not load OpenTelemetry. */
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { sleep, type Logger } from '@tapfleet/runtime';
import type { AssemblerConfig, TxnSpanRow } from '@tapfleet/schemas';
import { HostResources, toReadableSpan } from './otlp-spans.js';

export interface ExportCounters {
  exported(n: number): void;
  dropped(n: number): void;
  failed(): void;
  queued(n: number): void;
}


interface Group {
  rows: TxnSpanRow[];
  /** Called once the rows are delivered, or dropped (counted): their source messages may then be acked. */
  done: () => void;
}

/**
 * Spans to an OTLP/HTTP (protobuf) collector, in batches, from a bounded queue. A collector
 * that does not answer is retried with backoff (up to 10 s between tries) while spans wait
 * (and their source messages stay unacked, so a crash loses nothing); when the queue is full
 * new spans are dropped and counted, never the process's memory. Spans are stored in
 * ClickHouse before they get here, so a drop loses the export only.
 */
export class SpanExporter {
  private readonly queue: Group[] = [];
  private queuedSpans = 0;
  private readonly exporter: OTLPTraceExporter;
  private readonly resources = new HostResources();
  private stopped = false;
  /** Set when stop() gave up waiting: a late success must not ack what the next process will redo. */
  private abandoned = false;
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
    return this.queuedSpans;
  }

  enqueue(rows: TxnSpanRow[], done: () => void): void {
    if (this.queuedSpans + rows.length > this.o.maxQueueSpans) {
      this.counters.dropped(rows.length);
      done();
      return;
    }
    this.queue.push({ rows, done });
    this.queuedSpans += rows.length;
    this.counters.queued(this.queuedSpans);
    this.wake?.();
  }

  /** Delivered, or why not: `refused` when the collector rejected the request itself (retrying the same spans cannot help). */
  private exportOnce(rows: TxnSpanRow[]): Promise<'ok' | 'failed' | 'refused'> {
    return new Promise((resolve) => {
      this.exporter.export(rows.map((r) => toReadableSpan(r, this.resources)), (result) => {
        if (result.code === ExportResultCode.SUCCESS) return resolve('ok');
        const status = (result.error as { code?: unknown } | undefined)?.code;
        const refused = status === 400 || status === 413;
        this.log.warn({ err: result.error?.message, status, spans: rows.length }, refused ? 'OTLP collector refused spans' : 'OTLP export failed; retrying');
        resolve(refused ? 'refused' : 'failed');
      });
    });
  }

  private async run(): Promise<void> {
    let backoff = 200;
    // After a refused request of several groups: send that many groups one at a time, so only
    // the group the collector refuses is dropped (never a head of the queue blocking it forever).
    let oneByOne = 0;
    while (!this.stopped || this.queue.length) {
      if (!this.queue.length) {
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, 200);
        });
        continue;
      }
      // Whole groups (one transaction each) up to maxBatchSpans, at least one.
      let n = 0;
      let spans = 0;
      while (n < this.queue.length && (n === 0 || (oneByOne === 0 && spans + this.queue[n]!.rows.length <= this.o.maxBatchSpans))) spans += this.queue[n++]!.rows.length;
      const groups = this.queue.slice(0, n);
      const outcome = await this.exportOnce(groups.flatMap((g) => g.rows));
      if (this.abandoned) return;
      if (outcome === 'ok' || (outcome === 'refused' && n === 1)) {
        this.queue.splice(0, n);
        this.queuedSpans -= spans;
        if (outcome === 'ok') this.counters.exported(spans);
        else this.counters.dropped(spans); // still in ClickHouse; the collector will never take them
        this.counters.queued(this.queuedSpans);
        for (const g of groups) g.done();
        if (oneByOne > 0) oneByOne--;
        backoff = 200;
      } else if (outcome === 'refused') {
        oneByOne = n;
      } else {
        this.counters.failed();
        if (this.stopped) break; // stopping: what is left stays counted as queued
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  /**
   * Tries to deliver what is queued for up to `graceMs`, then stops. What is left is not
   * dropped: its source messages were never acked, so the next process makes and exports it.
   */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await Promise.race([this.loop, sleep(graceMs)]);
    this.abandoned = true;
    this.queue.length = 0;
    await this.exporter.shutdown().catch(() => undefined);
  }
}
