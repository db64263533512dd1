import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { DEFAULT_DATA_DIR } from '@tapfleet/runtime';
import { runWorkload, type WorkloadRun } from './tapset-workload.js';

/**
 * The workload writes 4 x 64 KiB with O_DIRECT under the data dir, each write waiting for its
 * request. Issue runs in the writer's context, completion in an interrupt's: unscoped, picked by
 * the issuer's comm (tf-block), which block_rq_issue records and the latency alias keeps.
 */
const SCRIPT = `
probe block.rq.issue { if ($comm == "tf-block") { emit issue { dev: $dev, sector: $sector, bytes: $bytes, rwbs: $rwbs } } }
probe block.rq.latency { if ($comm == "tf-block") { emit done { dev: $dev, sector: $sector, bytes: $bytes, error: $error, rwbs: $rwbs, took: latency } } }
probe block.rq.complete { emit complete { dev: $dev, sector: $sector, error: $error } }
`;

/** Direct I/O reaches a block device only if the data dir is on one (not tmpfs or overlay). */
function dataDirDevice(): string | undefined {
  mkdirSync(DEFAULT_DATA_DIR, { recursive: true });
  const dev = statSync(DEFAULT_DATA_DIR).dev;
  const id = `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;
  return existsSync(`/sys/dev/block/${id}`) ? id : undefined;
}

const device = dataDirDevice();

describe('tapsets/block.tap in the kernel: direct writes of known size', { skip: device ? false : `the data dir ${DEFAULT_DATA_DIR} is not on a block device: block tracepoints cannot see its writes` }, () => {
  let r: WorkloadRun;
  let writes: ReturnType<WorkloadRun['named']>;
  const major = () => BigInt(r.facts.dev_major as number);
  before(async () => {
    r = await runWorkload('block', SCRIPT, { scoped: false });
    writes = r.named('issue').filter((e) => (e.rwbs as string).includes('W') && e.bytes === 65536n);
  });

  test('nothing was lost', () => {
    assert.equal(r.ringbufDrops, 0n);
    assert.equal(r.attachFailures, 0);
  });

  test('block.rq.issue: four 64 KiB write requests, on the data dir\'s disk', () => {
    assert.equal(writes.length, 4, JSON.stringify(r.named('issue').map((e) => [String(e.bytes), e.rwbs])));
    assert.ok(writes.every((e) => (e.dev as bigint) >> 20n === major()));
    assert.equal(new Set(writes.map((e) => e.sector)).size, 4);
  });

  test('block.rq.latency: each request completed, keyed by (dev, sector), with its issue-time bytes and a positive latency', () => {
    const done = r.named('done');
    for (const w of writes) {
      const d = done.filter((e) => e.dev === w.dev && e.sector === w.sector);
      assert.equal(d.length, 1, `sector ${w.sector}`);
      assert.equal(d[0]!.bytes, 65536n);
      assert.equal(d[0]!.error, 0n);
      assert.ok((d[0]!.took as bigint) > 0n);
    }
  });

  test('block.rq.complete: each request\'s completion, without error', () => {
    for (const w of writes) assert.ok(r.named('complete').some((e) => e.dev === w.dev && e.sector === w.sector && e.error === 0n), `sector ${w.sector}`);
  });
});
