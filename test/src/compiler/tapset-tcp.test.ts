import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { runWorkload, TAPSET_PORTS, type WorkloadRun } from './tapset-workload.js';

/** The workload's ports: P a connection reset by its peer, P+1 refused, P+2 a full accept queue, P+3 deferred accept. */
const P = TAPSET_PORTS + 10;
const OURS = `(($sport >= ${P} && $sport <= ${P + 3}) || ($dport >= ${P} && $dport <= ${P + 3}))`;
const SCRIPT = `
probe tcp.state { if ${OURS} { emit st { old: $old, new: $new, sport: $sport, dport: $dport, saddr: $saddr, daddr: $daddr, sk: $skaddr } } }
probe tcp.retransmit { if ${OURS} { emit rtx { sport: $sport, dport: $dport, saddr: $saddr, sk: $skaddr } } }
probe tcp.retransmit_synack { if ${OURS} { emit synack { sport: $sport, dport: $dport, sk: $skaddr } } }
probe tcp.send_reset { emit send_rst { sk: $skaddr, state: $state } }
probe tcp.receive_reset { if ${OURS} { emit recv_rst { sport: $sport, dport: $dport, sk: $skaddr } } }
`;

const LOOPBACK = 0x0100007fn; // 127.0.0.1, its 4 bytes read little-endian
const S = { ESTABLISHED: 1n, SYN_SENT: 2n, SYN_RECV: 3n, CLOSE: 7n, LISTEN: 10n };

describe('tapsets/tcp.tap in the kernel: state changes, resets and retransmits on loopback', () => {
  let r: WorkloadRun;
  let clientPort: bigint;
  const states = () => r.named('st');
  const has = (old: bigint, nw: bigint, where: { sport?: number | bigint; dport?: number | bigint }) =>
    states().some((e) => e.old === old && e.new === nw && (where.sport === undefined || e.sport === BigInt(where.sport)) && (where.dport === undefined || e.dport === BigInt(where.dport)));
  before(async () => {
    r = await runWorkload('tcp', SCRIPT, { scoped: false, port: P });
    clientPort = BigInt(r.facts.client_port as number);
  });

  test('nothing was lost', () => {
    assert.equal(r.ringbufDrops, 0n);
    assert.equal(r.attachFailures, 0);
  });

  test('tcp.state: listen, the client handshake and the server side, with ports and loopback addresses', () => {
    const show = JSON.stringify(states().map((e) => `${e.old}->${e.new} ${e.sport}->${e.dport}`));
    assert.ok(has(S.CLOSE, S.LISTEN, { sport: P }), show);
    // The client's source port is chosen after it enters SYN_SENT.
    assert.ok(has(S.CLOSE, S.SYN_SENT, { sport: 0, dport: P }), show);
    assert.ok(has(S.SYN_SENT, S.ESTABLISHED, { sport: clientPort, dport: P }), show);
    assert.ok(has(S.LISTEN, S.SYN_RECV, { sport: P, dport: clientPort }), show);
    assert.ok(has(S.SYN_RECV, S.ESTABLISHED, { sport: P, dport: clientPort }), show);
    // The refused connection went SYN_SENT -> CLOSE.
    assert.ok(has(S.SYN_SENT, S.CLOSE, { dport: P + 1 }), show);
    assert.ok(states().filter((e) => e.dport === BigInt(P)).every((e) => e.saddr === LOOPBACK && e.daddr === LOOPBACK));
  });

  test('tcp.send_reset: the abortive close of the accepted socket, and the RST answering a SYN to a closed port (no socket)', () => {
    const accepted = states().find((e) => e.old === S.SYN_RECV && e.new === S.ESTABLISHED && e.sport === BigInt(P))!.sk;
    const sent = r.named('send_rst');
    assert.ok(sent.some((e) => e.sk === accepted), JSON.stringify(sent.map((e) => [String(e.sk), String(e.state)])));
    assert.ok(sent.some((e) => e.sk === 0n));
  });

  test('tcp.receive_reset: the client got the peer\'s RST, and so did the refused connect', () => {
    const got = r.named('recv_rst');
    assert.ok(got.some((e) => e.sport === clientPort && e.dport === BigInt(P)), JSON.stringify(got.map((e) => [String(e.sport), String(e.dport)])));
    assert.ok(got.some((e) => e.dport === BigInt(P + 1)));
  });

  test('tcp.retransmit: SYNs to a listener whose accept queue is full are sent again', () => {
    const rtx = r.named('rtx').filter((e) => e.dport === BigInt(P + 2));
    assert.ok(rtx.length >= 1);
    assert.ok(rtx.every((e) => e.saddr === LOOPBACK));
  });

  test('tcp.retransmit_synack: a deferred-accept listener sends its SYN-ACK again', () => {
    assert.ok(r.named('synack').some((e) => e.sport === BigInt(P + 3)), JSON.stringify(r.named('synack').map((e) => [String(e.sport), String(e.dport)])));
  });
});
