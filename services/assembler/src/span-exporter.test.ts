import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createLogger } from '@tapfleet/runtime';
import { AssemblerConfig, txnSpanId, txnTraceId, type TxnSpanRow } from '@tapfleet/schemas';
import { SpanExporter } from './span-exporter.js';

const root = (txn: string): TxnSpanRow => {
  const traceId = txnTraceId('d-0e0e0e0e', txn, '2025-11-24');
  return {
    date: '2025-11-24', deployment: 'd-0e0e0e0e', txn, trace_id: traceId, span_id: txnSpanId(traceId, 'root'), parent_span_id: '', kind: 'txn', name: 'transaction',
    host: 'h1', from_host: 'h1', to_host: 'h1', from_event: 'a', to_event: 'a', start_ns: '1764000000000000000', end_ns: '1764000000000001000',
    duration_ns: '1000', error_bound_ns: '0', events: 1, attr_names: [], attr_values: [], version: '1',
  };
};

test('a collector that refuses one transaction\'s spans (HTTP 400) blocks neither the spans queued behind them nor their messages', { timeout: 30_000 }, async () => {
  // A real HTTP collector that refuses any request carrying the transaction "refused-by-collector".
  const accepted: string[] = [];
  let requests = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      const body = Buffer.concat(chunks).toString('latin1');
      if (body.includes('refused-by-collector')) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid span');
        return;
      }
      for (const t of ['ok-1', 'ok-2']) if (body.includes(t)) accepted.push(t);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  let dropped = 0;
  const otlp = AssemblerConfig.parse({}).otlp;
  const exporter = new SpanExporter({ ...otlp, url }, { exported: () => undefined, dropped: (n) => (dropped += n), failed: () => undefined, queued: () => undefined }, createLogger('silent'));
  const done = new Set<string>();
  const allDone = new Promise<void>((resolve) => {
    for (const t of ['ok-1', 'refused-by-collector', 'ok-2']) exporter.enqueue([root(t)], () => {
      done.add(t);
      if (done.size === 3) resolve();
    });
  });
  exporter.start();
  await allDone;
  await exporter.stop();
  await new Promise((r) => server.close(r));
  assert.deepEqual(accepted.sort(), ['ok-1', 'ok-2'], 'the spans around the refused ones were delivered');
  assert.equal(dropped, 1, 'the refused span is dropped and counted (it is in ClickHouse)');
  assert.ok(requests >= 2);
});
