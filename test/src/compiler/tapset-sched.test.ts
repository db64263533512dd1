import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import type { DecodedEvent } from '@tapfleet/schemas';
import { runWorkload, type WorkloadRun } from './tapset-workload.js';

/**
 * Unscoped (wake-ups run in the waker's or an interrupt's context), each probe keeps only the
 * workload's events, by its comm tf-sched. The workload sleeps 5 x 50 ms, forks a child that
 * sleeps 30 ms and exits, and then execs /bin/true.
 */
const SCRIPT = `
probe sched.runq { if ($comm == "tf-sched") { emit runq { who: $tid, took: latency, prio: $prio } } }
probe sched.offcpu { if ($comm == "tf-sched") { emit offcpu { who: $tid, took: latency, state: $state } } }
probe sched.switch { if ($prev_comm == "tf-sched") { emit switch_out { prev: $prev_tid, state: $prev_state, next: $next_tid, next_comm: $next_comm } } }
probe sched.wakeup { if ($comm == "tf-sched") { emit wakeup { who: $tid, target_cpu: $target_cpu } } }
probe sched.wakeup_new { if ($comm == "tf-sched") { emit wakeup_new { who: $tid } } }
probe sched.process.fork { if ($parent_comm == "tf-sched") { emit fork { parent: $parent_tid, child: $child_tid, child_comm: $child_comm } } }
probe sched.process.exit { if ($comm == "tf-sched") { emit exit { who: $tid } } }
probe sched.process.lifetime { if ($comm == "tf-sched") { emit lifetime { who: $tid, parent: $parent_tid, took: latency } } }
probe sched.process.exec { if ($filename == "/bin/true") { emit exec { who: $tid, old: $old_tid } } }
`;

const SLEEP_NS = 50_000_000n;
const CHILD_SLEEP_NS = 30_000_000n;

describe('tapsets/sched.tap in the kernel: run-queue latency, off-CPU time, switches, wake-ups, fork/exec/exit', () => {
  let r: WorkloadRun;
  let pid: bigint;
  let child: bigint;
  const of = (name: string, who: bigint, field = 'who') => r.named(name).filter((e) => e[field] === who);
  before(async () => {
    r = await runWorkload('sched', SCRIPT, { scoped: false });
    pid = BigInt(r.facts.pid as number);
    child = BigInt(r.facts.child as number);
  });

  test('nothing was lost', () => {
    assert.equal(r.ringbufDrops, 0n);
    assert.equal(r.attachFailures, 0);
  });

  test('sched.offcpu: each 50 ms sleep is a sleeping (state 1) off-CPU stretch of at least 50 ms', () => {
    const sleeps = of('offcpu', pid).filter((e) => e.state === 1n && (e.took as bigint) >= SLEEP_NS);
    assert.ok(sleeps.length >= 5, `${sleeps.length} off-CPU sleeps >= 50 ms: ${JSON.stringify(of('offcpu', pid).map((e) => String(e.took)))}`);
  });

  test('sched.runq: the woken workload waited on the run queue, less than it was off the CPU, at the same switch', () => {
    const runq = of('runq', pid);
    assert.ok(runq.length >= 5, `${runq.length} run-queue waits`);
    assert.ok(runq.every((e) => (e.took as bigint) > 0n));
    // Both aliases fire at the sched_switch that puts the thread back on a CPU: the nearest run-queue
    // wait is part of the off-CPU stretch that switch ends.
    const nearest = (e: DecodedEvent) => runq.reduce((best, q) => (abs(q.ktime_ns as bigint, e.ktime_ns as bigint) < abs(best.ktime_ns as bigint, e.ktime_ns as bigint) ? q : best));
    for (const off of of('offcpu', pid).filter((e) => (e.took as bigint) >= SLEEP_NS)) assert.ok((nearest(off).took as bigint) < (off.took as bigint), `runq ${nearest(off).took} ns vs off-CPU ${off.took} ns`);
  });

  test('sched.switch: the workload left the CPU asleep (state 1) at least once per sleep', () => {
    assert.ok(of('switch_out', pid, 'prev').filter((e) => e.state === 1n).length >= 5);
  });

  test('sched.wakeup: the sleeping workload was woken at least once per sleep', () => {
    assert.ok(of('wakeup', pid).length >= 5);
    assert.ok(of('wakeup', pid).every((e) => (e.target_cpu as bigint) >= 0n));
  });

  test('sched.process.fork and sched.wakeup_new: the child, by its parent', () => {
    assert.deepEqual(r.named('fork').filter((e) => e.parent === pid).map((e) => [e.child, e.child_comm]), [[child, 'tf-sched']]);
    assert.equal(of('wakeup_new', child).length, 1);
  });

  test('sched.process.exit and sched.process.lifetime: the child exited at least 30 ms after its fork', () => {
    assert.equal(of('exit', child).length, 1);
    const life = of('lifetime', child);
    assert.equal(life.length, 1);
    assert.equal(life[0]!.parent, pid);
    assert.ok((life[0]!.took as bigint) >= CHILD_SLEEP_NS, `lifetime ${life[0]!.took} ns`);
  });

  test('sched.process.exec: the workload became /bin/true, same thread', () => {
    assert.deepEqual(of('exec', pid).map((e) => e.old), [pid]);
  });
});

const abs = (a: bigint, b: bigint) => (a > b ? a - b : b - a);
