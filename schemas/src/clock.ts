import { z } from 'zod/v3';

/**
 * Where a host's clock bound comes from. `request-reply`: the agent's exchanges with the
 * control plane's time service (offset to that reference, +/- RTT/2). `ntp`: the kernel says
 * the clock is disciplined (adjtimex: synchronised, with its estimated error) and that error
 * is the tighter bound; the offset is then 0 against true time (see the agent's clock-source.ts).
 */
export const ClockSource = z.enum(['ntp', 'request-reply']);
export type ClockSource = z.infer<typeof ClockSource>;

/** adjtimex(2)'s return value, by name. TIME_ERROR: the clock is not synchronised. */
export const KernelClockState = z.enum(['TIME_OK', 'TIME_INS', 'TIME_DEL', 'TIME_OOP', 'TIME_WAIT', 'TIME_ERROR', 'UNKNOWN']);

/** The one JSON line `tapfleet-clock-status` (agents/runner/native/clock-status.c) prints. */
export const KernelClockStatus = z.object({
  state: KernelClockState,
  /** Not TIME_ERROR and STA_UNSYNC clear. */
  synchronised: z.boolean(),
  /** The STA_UNSYNC status flag. */
  unsync: z.boolean(),
  /** The raw timex status bits (STA_*). */
  status: z.number().int().safe(),
  /** The kernel's estimated error of the system clock, us (set by the NTP daemon). */
  esterrorUs: z.number().int().safe().nonnegative(),
  /** The kernel's maximum error, us: grows by 500 ppm while no daemon updates it. */
  maxerrorUs: z.number().int().safe().nonnegative(),
});
export type KernelClockStatus = z.infer<typeof KernelClockStatus>;
