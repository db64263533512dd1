import type { ClockEstimate, ClockSource, KernelClockStatus } from '@tapfleet/schemas';

/** The clock a batch header and the heartbeat carry, and why that source was chosen. */
export interface ChosenClock {
  offsetNs: number;
  uncertaintyNs: number;
  source: ClockSource;
  sampledAtMs: number;
  reason: string;
}

export interface ClockInputs {
  /** The best request/reply exchange with the time service (offset to it, +/- RTT/2). */
  requestReply?: ClockEstimate;
  /** The kernel's discipline as last read, with when; absent when it could not be read. */
  kernel?: { status: KernelClockStatus; readAtMs: number };
  /** agent.clock.artificialOffsetNs: this agent's stamps are shifted on purpose. */
  artificialOffsetNs: number;
}

/**
 * Which bound to report. The request/reply estimate measures this host against the reference
 * within RTT/2. A disciplined kernel (adjtimex: synchronised) says this host is within its
 * estimated error of true time; with the reference disciplined to the same time, the host's
 * offset is then 0 within that error. So the kernel's bound is used, with offset 0 (not the
 * measured offset: its own error, RTT/2, is the larger one, so subtracting it would add more
 * noise than the bound allows), only when
 *  - no artificial offset is set: that shift is invisible to the kernel, only an exchange sees it;
 *  - the kernel reports synchronised (TIME_ERROR or STA_UNSYNC mean its estimate means nothing);
 *  - its estimated error is tighter than RTT/2 (or there is no exchange at all);
 *  - the exchange does not contradict it: |offset| within RTT/2 + esterror. Otherwise either
 *    this host's discipline or the reference is off, and only the measurement is evidence.
 * Undefined when there is nothing to report (no exchange yet, kernel not usable).
 *
 * Known limit: an ntp host's bound is against true time, a request-reply host's against the
 * reference. A hop between the two is right within their sum only if the reference is itself
 * close to true time; the contradiction check caps how far it can be unseen (RTT/2 + 2 x esterror
 * of the ntp host), but the time service does not yet say whether its own clock is disciplined.
 */
export function chooseClock(i: ClockInputs): ChosenClock | undefined {
  const rr = i.requestReply;
  const fallback = (reason: string): ChosenClock | undefined =>
    rr ? { offsetNs: rr.offsetNs, uncertaintyNs: rr.uncertaintyNs, source: 'request-reply', sampledAtMs: rr.sampledAtMs, reason } : undefined;
  if (i.artificialOffsetNs !== 0) return fallback('an artificial offset is set: only the request/reply exchange measures it');
  if (!i.kernel) return fallback('the kernel clock status could not be read');
  const k = i.kernel.status;
  if (!k.synchronised) return fallback(`the kernel clock is not synchronised (${k.state}${k.unsync ? ', STA_UNSYNC' : ''})`);
  const esterrorNs = k.esterrorUs * 1000;
  if (rr && esterrorNs >= rr.uncertaintyNs) return fallback(`the request/reply bound (${rr.uncertaintyNs} ns) is tighter than the kernel's estimated error (${esterrorNs} ns)`);
  if (rr && Math.abs(rr.offsetNs) > rr.uncertaintyNs + esterrorNs)
    return fallback(`the measured offset (${rr.offsetNs} +/- ${rr.uncertaintyNs} ns) contradicts the kernel's bound (${esterrorNs} ns)`);
  return { offsetNs: 0, uncertaintyNs: esterrorNs, source: 'ntp', sampledAtMs: i.kernel.readAtMs, reason: `the kernel clock is synchronised with an estimated error of ${esterrorNs} ns` };
}
