import { z } from 'zod/v3';

/**
 * What a running `tapfleet demo` (`npm start`) leaves in `<dataDir>/stack/demo/demo-run.json`:
 * its own process (pid and kernel start time, so a recycled pid is never taken for it) and the
 * services it is responsible for stopping. The next run reads it: while that process lives, a
 * second demo would take over its client and deployment, so it refuses; once it is gone (kill -9,
 * a closed terminal), the next run adopts the services it left and stops them at its own end.
 */
export const DemoRunRecord = z.object({
  pid: z.number().int().safe().positive(),
  startTime: z.string(),
  command: z.string(),
  /** The stack services (names as in `tapfleet stack`) this run started or adopted. */
  services: z.array(z.string().min(1)),
});
export type DemoRunRecord = z.infer<typeof DemoRunRecord>;
