import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, copyFileSync } from 'node:fs';
import { HIST_BUCKETS } from '@tapfleet/schemas';
import { compileForThisHost, runSession } from '@tapfleet/local';
import { buildTracee, traceCommand, TEST_SIGNING_KEY } from './kernel-harness.js';

/** These run the real kernel through the real runner; CI runs them as root. */
describe('probes in the kernel', () => {
  let tracee = '';
  before(() => {
    tracee = buildTracee();
  });

  test('tracepoint count equals the known number of system calls', async () => {
    const r = await traceCommand('probe tracepoint:syscalls:sys_enter_getpid { @n[pid] = count(); }', [tracee, 'flood', '5000']);
    const mine = r.maps.get('@n')!.find((e) => e.key[0] === BigInt(r.commandPid!));
    assert.equal(mine?.value, 5000n);
  });

  test('uprobe arguments are exact', async () => {
    const r = await traceCommand(`probe uprobe:${tracee}:tf_add { emit add { a: arg0, b: arg1 } }`, [tracee, 'calls', '50']);
    assert.equal(r.collected.length, 50);
    r.collected.forEach((e, i) => {
      assert.equal(e.name, 'add');
      assert.equal(e.fields.a, BigInt(i));
      assert.equal(e.fields.b, BigInt(1000 + i));
      assert.equal(e.fields.pid, r.commandPid);
      assert.equal(e.fields.comm, 'tracee');
    });
  });

  test('a predicate filters in the kernel: half the calls counted, every call ran the program', async () => {
    const r = await traceCommand(`probe uprobe:${tracee}:tf_add /arg0 % 2 == 0/ { @even = count(); }`, [tracee, 'calls', '200'], { runStats: true });
    assert.equal(r.maps.get('@even')![0]!.value, 100n);
    assert.deepEqual(r.programRuns, [200n]);
  });

  test('uretprobe: @entry(arg0), retval and latency', async () => {
    const r = await traceCommand(`probe uretprobe:${tracee}:tf_sleep_ms { emit slept { ms: @entry(arg0), ret: retval, took: latency } }`, [tracee, 'sleeps', '3']);
    assert.equal(r.collected.length, 3);
    r.collected.forEach((e, i) => {
      const ms = 20 + 10 * i;
      assert.equal(e.fields.ms, BigInt(ms));
      assert.equal(e.fields.ret, BigInt(2 * ms));
      const took = Number(e.fields.took as bigint) / 1e6;
      // usleep sleeps at least as asked; allow 30 ms of scheduling noise on a busy 2-vCPU VM.
      assert.ok(took >= ms && took < ms + 30, `latency ${took.toFixed(2)} ms for a ${ms} ms sleep`);
    });
  });

  for (const usdtArgs of ['direct', 'libbpf'] as const)
    test(`USDT integer and string arguments are exact (${usdtArgs === 'direct' ? 'read from the spec' : 'via usdt.bpf.h'})`, async () => {
      const r = await traceCommand(`probe usdt:${tracee}:tftest:tick { emit tick { i: arg0, label: str(arg1) } }`, [tracee, 'calls', '20'], { usdtArgs });
      assert.equal(r.collected.length, 20);
      r.collected.forEach((e, i) => {
        assert.equal(e.fields.i, BigInt(i));
        assert.equal(e.fields.label, `tick-${i}`);
      });
    });

  test('a USDT site with a semaphore (python3.11 gc__start) fires only while attached, read from the spec', async () => {
    const python = '/usr/bin/python3.11';
    const r = await traceCommand(`probe usdt:${python}:python:gc__start { emit gc { generation: arg0 } }`, [python, '-c', 'import gc\nfor i in range(3): gc.collect(i % 3)']);
    const generations = r.collected.map((e) => e.fields.generation);
    for (const g of [0n, 1n, 2n]) assert.ok(generations.includes(g), `generation ${g} collected: ${generations.join(',')}`);
  });

  test('string equality in the kernel: literals, builtins, str() and string locals', async () => {
    const script = `
probe usdt:${tracee}:tftest:tick /str(arg1) == "tick-3" || str(arg1) == "tick-7"/ { emit hit { i: arg0 } }
probe usdt:${tracee}:tftest:tick /comm != "tracee"/ { @other = count(); }
probe usdt:${tracee}:tftest:tick { $l = str(arg1); if ($l == "tick-5") { @five = count(); } }
probe usdt:${tracee}:tftest:tick /comm == "tracee" && str(arg1) != "tick-0"/ { @rest = count(); }`;
    const r = await traceCommand(script, [tracee, 'calls', '10']);
    assert.deepEqual(r.collected.map((e) => e.fields.i), [3n, 7n]);
    assert.equal(r.maps.get('@other')?.[0]?.value ?? 0n, 0n, 'no tick came from another command');
    assert.equal(r.maps.get('@five')![0]!.value, 1n);
    assert.equal(r.maps.get('@rest')![0]!.value, 9n);
  });

  test('paired USDT alias: @entry and latency across op__start / op__done', async () => {
    const script = `
# one operation, from start to done
alias tftest.op = usdt:$tracee:tftest:op__done pairs usdt:$tracee:tftest:op__start { $done = arg0; }
probe tftest.op { emit op { started: @entry(arg0), done: $done, took: latency } }`;
    const r = await traceCommand(script, [tracee, 'sleeps', '2'], { binaryPaths: { tracee } });
    assert.equal(r.collected.length, 2);
    r.collected.forEach((e, i) => {
      assert.equal(e.fields.started, BigInt(i));
      assert.equal(e.fields.done, BigInt(i));
      const took = Number(e.fields.took as bigint) / 1e6;
      assert.ok(took >= 20 + 10 * i && took < 20 + 10 * i + 30, `latency ${took.toFixed(2)} ms`);
    });
  });

  test('hist() puts each value in its log2 bucket', async () => {
    const r = await traceCommand(`probe uprobe:${tracee}:tf_add { @h = hist(arg0); @lin = lhist(arg0, 0, 100, 10); }`, [tracee, 'calls', '100']);
    const expected = new Array<bigint>(HIST_BUCKETS).fill(0n);
    for (let i = 0; i < 100; i++) expected[i === 0 ? 1 : 2 + Math.floor(Math.log2(i))]! += 1n;
    assert.deepEqual(r.maps.get('@h')![0]!.buckets, expected);
    // lhist: [<0], [0,10), ..., [90,100), [>=100]
    assert.deepEqual(r.maps.get('@lin')![0]!.buckets, [0n, ...new Array(10).fill(10n), 0n]);
  });

  test('sum, min, max and avg aggregate across CPUs', async () => {
    const r = await traceCommand(`probe uprobe:${tracee}:tf_add { @s = sum(arg1); @lo = min(arg1); @hi = max(arg1); @mean = avg(arg0); }`, [tracee, 'calls', '10']);
    assert.equal(r.maps.get('@s')![0]!.value, BigInt([...Array(10).keys()].reduce((a, i) => a + 1000 + i, 0)));
    assert.equal(r.maps.get('@lo')![0]!.value, 1000n);
    assert.equal(r.maps.get('@hi')![0]!.value, 1009n);
    const mean = r.maps.get('@mean')![0]!;
    assert.equal(mean.value / mean.count!, 4n);
  });

  test('a binary missing at load time gives a per-probe error status, not a crash', async () => {
    const doomed = `${tracee}-doomed`;
    copyFileSync(tracee, doomed);
    const bundle = await compileForThisHost('t.tap', `probe uprobe:${doomed}:tf_add { @a = count(); } probe tracepoint:syscalls:sys_enter_getpid { @b = count(); }`, { signingKey: TEST_SIGNING_KEY });
    rmSync(doomed);
    const statuses: { program: string; errno: number }[] = [];
    const r = await runSession({ bundle, durationMs: 100, onAttach: (s, program) => statuses.push({ program, errno: s.errno }) });
    assert.deepEqual(statuses.map((s) => [s.program, s.errno === 0]), [['p0_0', false], ['p1_0', true]]);
    assert.equal(statuses[0]!.errno, 2, 'ENOENT');
    assert.equal(r.attachFailures, 1);
  });

  test('a tiny ring buffer overflows and every event is either delivered or counted as dropped', async () => {
    const r = await traceCommand('probe tracepoint:syscalls:sys_enter_getpid { emit g { n: tid } }', [tracee, 'flood', '200000'], { ringBufferBytes: 4096 });
    assert.ok(r.ringbufDrops > 0n, 'the 4 KiB ring must overflow');
    assert.ok(r.produced >= 200000n);
    assert.equal(BigInt(r.events) + r.ringbufDrops, r.produced);
  });
});
