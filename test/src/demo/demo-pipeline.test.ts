import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { readBinaryProfile } from '@tapfleet/runner';
import { buildDemo, DemoProcess, parseClientSummary, stopStages, type DemoStage } from './demo-pipeline.js';

/** This file's own ports inside the test netns (38400..38439). */
const PORTS = 38400;

/** The three stages on base, base+1, base+2; stopped by the caller. */
async function startStages(bins: Record<DemoStage, string>, base: number, extra: { risk?: string[] } = {}) {
  const matcher = new DemoProcess(bins.matcher, ['--listen', String(base + 2)]);
  const risk = new DemoProcess(bins.risk, ['--listen', String(base + 1), '--downstream', String(base + 2), ...(extra.risk ?? [])]);
  const gateway = new DemoProcess(bins.gateway, ['--listen', String(base), '--downstream', String(base + 1)]);
  await Promise.all([matcher.ready, risk.ready, gateway.ready]);
  return { matcher, risk, gateway };
}

async function runClient(bin: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const c = new DemoProcess(bin, args);
  const code = await c.exited;
  return { code, output: c.output };
}

describe('demo trading pipeline (processes on loopback)', () => {
  let bins: Record<DemoStage, string>;
  before(() => {
    bins = buildDemo();
  });

  test('each program has a GNU build-id and its tfdemo USDT points in .note.stapsdt', () => {
    const expected: Record<DemoStage, string[]> = {
      client: ['ack_recv', 'order_send'],
      gateway: ['ack_fwd', 'order_fwd', 'order_recv'],
      risk: ['ack_fwd', 'order_fwd', 'order_recv', 'order_reject'],
      matcher: ['order_ack', 'order_recv'],
    };
    for (const [stage, names] of Object.entries(expected) as [DemoStage, string[]][]) {
      const profile = readBinaryProfile(bins[stage]);
      assert.match(profile.buildId, /^[0-9a-f]{40}$/, stage);
      const points = profile.usdt.filter((u) => u.provider === 'tfdemo');
      assert.deepEqual([...new Set(points.map((u) => u.name))].sort(), names, stage);
      // Order points carry id, qty, price, side; answer points id, status (+ rtt on the client).
      for (const u of points) assert.equal(u.args.trim().split(/\s+/).length, u.name === 'ack_recv' ? 3 : u.name.startsWith('ack') || u.name === 'order_ack' ? 2 : 4, `${stage} ${u.name}: ${u.args}`);
    }
  });

  test('every order is answered once; risk rejects what is over its limit; each stage counts the same orders', async () => {
    const s = await startStages(bins, PORTS, { risk: ['--max-qty', '1000'] });
    const r = await runClient(bins.client, ['--connect', String(PORTS), '--count', '3000', '--rate', '20000', '--reject-every', '100']);
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(
      (({ sent, acked, filled, rejected, unexpected }) => ({ sent, acked, filled, rejected, unexpected }))(parseClientSummary(r.output)!),
      { sent: 3000, acked: 3000, filled: 2970, rejected: 30, unexpected: 0 },
    );
    assert.deepEqual(await stopStages(s), [0, 0, 0], 'SIGTERM is a clean exit');
    assert.match(s.gateway.output, /orders=3000 forwarded=3000 answers=3000 unroutable=0/);
    assert.match(s.risk.output, /orders=3000 forwarded=2970 rejected=30 answers=2970/);
    assert.match(s.matcher.output, /orders=2970 answers=2970/);
  });

  test('two clients at once through one gateway: each gets exactly its own answers', async () => {
    const s = await startStages(bins, PORTS + 10);
    const [a, b] = await Promise.all([
      runClient(bins.client, ['--connect', String(PORTS + 10), '--count', '2000', '--rate', '10000', '--first-id', '1']),
      runClient(bins.client, ['--connect', String(PORTS + 10), '--count', '1500', '--rate', '10000', '--first-id', '1000000']),
    ]);
    await stopStages(s);
    assert.equal(a.code, 0, a.output);
    assert.equal(b.code, 0, b.output);
    assert.equal(parseClientSummary(a.output)?.acked, 2000);
    assert.equal(parseClientSummary(b.output)?.acked, 1500);
    assert.match(s.gateway.output, /orders=3500 forwarded=3500 answers=3500 unroutable=0/);
  });

  test('a malformed frame closes only that connection; the gateway keeps serving', async () => {
    const s = await startStages(bins, PORTS + 20);
    const bad: Socket = connect(PORTS + 20, '127.0.0.1');
    await once(bad, 'connect');
    bad.write(Buffer.from([7, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7])); // length 7: not a demo frame
    bad.resume();
    await once(bad, 'close');
    const r = await runClient(bins.client, ['--connect', String(PORTS + 20), '--count', '100', '--rate', '0']);
    await stopStages(s);
    assert.equal(r.code, 0, r.output);
    assert.match(s.gateway.output, /frame of 7 bytes, expected 32: closing the connection/);
  });

  test('a gateway that goes away mid-run: the client exits 1 and says how many orders went unanswered', async () => {
    // A stand-in gateway that takes the first bytes and hangs up: the point at which it dies is exact.
    const server = createServer((sock) => sock.once('data', () => sock.destroy()));
    server.listen(PORTS + 30, '127.0.0.1');
    await once(server, 'listening');
    try {
      const r = await runClient(bins.client, ['--connect', String(PORTS + 30), '--count', '1000', '--rate', '0', '--max-inflight', '10']);
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /the gateway closed the connection with \d+ order\(s\) unanswered/);
      const summary = parseClientSummary(r.output)!;
      assert.equal(summary.acked, 0);
      assert.ok(summary.sent >= 1 && summary.sent <= 10, `sent ${summary.sent} with a window of 10`);
    } finally {
      server.close();
    }
  });

  test('a stage whose next stage goes away stops with exit 1 and says why', async () => {
    const s = await startStages(bins, PORTS + 35);
    assert.equal(await s.matcher.stop(), 0);
    assert.equal(await s.risk.exited, 1);
    assert.match(s.risk.output, /the next stage \(port 38437\) closed the connection: stopping/);
    assert.equal(await s.gateway.exited, 1);
  });
});
