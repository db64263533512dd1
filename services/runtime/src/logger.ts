import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

/**
 * The one logger: structured JSON lines on stderr (stdout stays free for command
 * output and, in the runner's case, binary records). `component` names the process part.
 */
export function createLogger(component: string, level: string = process.env.TAPFLEET_LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  return pino(
    { level, base: { component, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
