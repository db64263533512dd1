import { z } from 'zod';

const LogLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/**
 * The one configuration shape for every tapfleet process. Defaults point at the
 * local stack `tapfleet stack up` starts; env vars and an optional JSON file override them.
 */
export const TapfleetConfig = z.object({
  /** Project-local state: stack data, logs, pid files, keys, spools. */
  dataDir: z.string().min(1),
  logLevel: LogLevel.default('info'),
  nats: z.object({
    url: z.string().regex(/^nats:\/\/[^\s]+:[0-9]+$/, 'expected nats://HOST:PORT').default('nats://127.0.0.1:4222'),
    /** HTTP monitoring port of the nats-server the stack starts. */
    monitorPort: z.number().int().min(1).max(65535).default(8222),
  }).prefault({}),
  clickhouse: z.object({
    url: z.string().url().default('http://127.0.0.1:8123'),
    /** Native-protocol port of the clickhouse-server the stack starts (clickhouse-client uses it). */
    tcpPort: z.number().int().min(1).max(65535).default(9000),
    database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('tapfleet'),
    username: z.string().default('default'),
    password: z.string().default(''),
  }).prefault({}),
  redis: z.object({
    url: z.string().regex(/^redis:\/\/[^\s]+:[0-9]+(\/[0-9]+)?$/, 'expected redis://HOST:PORT[/DB]').default('redis://127.0.0.1:6379'),
  }).prefault({}),
});
export type TapfleetConfig = z.infer<typeof TapfleetConfig>;
/** What a config file may contain: any subset. */
export const TapfleetConfigFile = TapfleetConfig.partial().extend({ dataDir: z.string().min(1).optional() });
export type TapfleetConfigFile = z.infer<typeof TapfleetConfigFile>;
