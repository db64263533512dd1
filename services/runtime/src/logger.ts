import type { Logger as PinoLogger, DestinationStream } from 'pino';
import { pinoModule } from './client-modules.js';

export type Logger = PinoLogger;

/**
 * The one logger: structured JSON lines on stderr (stdout stays free for command
 * output and, in the runner's case, binary records). `component` names the process part.
 * pino loads on the first logger made, not with this module: a command that never logs
 * (a cached `tapfleet run`, `--help`) does not pay for its ~30 modules.
 */
export function createLogger(component: string, level: string = process.env.TAPFLEET_LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const { pino } = pinoModule();
  return pino(
    { level, base: { component, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
