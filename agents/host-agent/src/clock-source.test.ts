import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClockEstimate, KernelClockStatus } from '@tapfleet/schemas';
import { chooseClock } from './clock-source.js';

/** A request/reply estimate as on this machine: +/- 155 us from the NATS round trip. */
const rr: ClockEstimate = { offsetNs: 40_000, uncertaintyNs: 155_000, sampledAtMs: 1000 };
/** chrony-disciplined: synchronised, 12 us estimated error (STA_PLL = 0x0001). */
const synced: KernelClockStatus = { state: 'TIME_OK', synchronised: true, unsync: false, status: 0x1, esterrorUs: 12, maxerrorUs: 1500 };
/** This VM: no daemon, STA_UNSYNC (0x40) set, adjtimex answers TIME_ERROR, the 16 s default errors. */
const unsynced: KernelClockStatus = { state: 'TIME_ERROR', synchronised: false, unsync: true, status: 0x40, esterrorUs: 16_000_000, maxerrorUs: 16_000_000 };
const kernel = (status: KernelClockStatus) => ({ status, readAtMs: 2000 });

test('clock source: a synchronised kernel with a tighter error gives ntp, offset 0 +/- esterror', () => {
  const c = chooseClock({ requestReply: rr, kernel: kernel(synced), artificialOffsetNs: 0 })!;
  assert.deepEqual({ offsetNs: c.offsetNs, uncertaintyNs: c.uncertaintyNs, source: c.source, sampledAtMs: c.sampledAtMs }, { offsetNs: 0, uncertaintyNs: 12_000, source: 'ntp', sampledAtMs: 2000 });
});

test('clock source: an unsynchronised kernel (TIME_ERROR, STA_UNSYNC) keeps the request/reply bound', () => {
  const c = chooseClock({ requestReply: rr, kernel: kernel(unsynced), artificialOffsetNs: 0 })!;
  assert.deepEqual({ offsetNs: c.offsetNs, uncertaintyNs: c.uncertaintyNs, source: c.source }, { offsetNs: 40_000, uncertaintyNs: 155_000, source: 'request-reply' });
  assert.match(c.reason, /not synchronised \(TIME_ERROR, STA_UNSYNC\)/);
});

test('clock source: a synchronised kernel whose error is wider than RTT/2 loses to request/reply', () => {
  const c = chooseClock({ requestReply: rr, kernel: kernel({ ...synced, esterrorUs: 155 }), artificialOffsetNs: 0 })!;
  assert.equal(c.source, 'request-reply');
  assert.equal(c.uncertaintyNs, 155_000);
});

test('clock source: an artificial offset forces request/reply, however good the kernel says it is', () => {
  const shifted = { ...rr, offsetNs: 3_000_000 + 40_000 };
  const c = chooseClock({ requestReply: shifted, kernel: kernel(synced), artificialOffsetNs: 3_000_000 })!;
  assert.deepEqual({ offsetNs: c.offsetNs, source: c.source }, { offsetNs: 3_040_000, source: 'request-reply' });
  assert.match(c.reason, /artificial offset/);
});

test('clock source: a measured offset outside RTT/2 + esterror contradicts the kernel: request/reply', () => {
  // A host (or reference) 3 ms off true time while its daemon claims 12 us: the measurement wins.
  const c = chooseClock({ requestReply: { ...rr, offsetNs: 3_000_000 }, kernel: kernel(synced), artificialOffsetNs: 0 })!;
  assert.equal(c.source, 'request-reply');
  assert.equal(c.offsetNs, 3_000_000);
  assert.match(c.reason, /contradicts/);
  // Just inside the bound is consistent.
  assert.equal(chooseClock({ requestReply: { ...rr, offsetNs: -(155_000 + 12_000) }, kernel: kernel(synced), artificialOffsetNs: 0 })!.source, 'ntp');
});

test('clock source: no exchange yet: a synchronised kernel still bounds the clock; an unusable one gives nothing', () => {
  assert.deepEqual(
    (({ offsetNs, uncertaintyNs, source }) => ({ offsetNs, uncertaintyNs, source }))(chooseClock({ kernel: kernel(synced), artificialOffsetNs: 0 })!),
    { offsetNs: 0, uncertaintyNs: 12_000, source: 'ntp' },
  );
  assert.equal(chooseClock({ kernel: kernel(unsynced), artificialOffsetNs: 0 }), undefined);
  assert.equal(chooseClock({ artificialOffsetNs: 0 }), undefined);
});

test('clock source: an unreadable kernel status (no helper, bad output) keeps the request/reply bound', () => {
  const c = chooseClock({ requestReply: rr, artificialOffsetNs: 0 })!;
  assert.equal(c.source, 'request-reply');
  assert.match(c.reason, /could not be read/);
});
