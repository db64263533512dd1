import { formatStrftime } from '@tapfleet/schemas';

/**
 * CLOCK_REALTIME minus CLOCK_MONOTONIC, read once: bpftrace 0.17 turns strftime()'s nsecs into
 * wall time by adding the boot time it read at start (CLOCK_MONOTONIC runs as CLOCK_BOOTTIME
 * on a host that never suspends).
 */
let wallOffset: bigint | undefined;
const wallOffsetNs = () => (wallOffset ??= BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)) - process.hrtime.bigint());

/**
 * A strftime(FORMAT, ns) value (CLOCK_MONOTONIC ns, bpftrace's nsecs) as this host's local time.
 * The sum wraps at 64 bits as bpftrace's does: strftime(FMT, -1) is 1 ns before boot, not year 2611.
 */
export const hostTime = (format: string, ns: bigint): string => formatStrftime(format, BigInt.asUintN(64, ns + wallOffsetNs()));
