import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { createLogger, loadConfig, mergeConfig, DEFAULT_DATA_DIR, type Logger } from '@tapfleet/runtime';

/**
 * A private stack configuration for tests that start and stop servers themselves:
 * its own ports (base + service offset) and its own data dir, so it never touches
 * the stack the test command or a developer runs. `extra` is merged over it (nested keys too).
 */
export function isolatedStackConfig(basePort: number, extra: Record<string, unknown> = {}): TapfleetConfig {
  mkdirSync(DEFAULT_DATA_DIR, { recursive: true });
  const dataDir = mkdtempSync(join(DEFAULT_DATA_DIR, 'test-stack-'));
  return loadConfig({
    env: {},
    overrides: mergeConfig({
      dataDir,
      logLevel: 'warn',
      nats: { url: `nats://127.0.0.1:${basePort + 1}`, monitorPort: basePort + 2 },
      clickhouse: { url: `http://127.0.0.1:${basePort + 3}`, tcpPort: basePort + 4, database: 'tapfleet_smoke' },
      redis: { url: `redis://127.0.0.1:${basePort + 5}` },
      kafka: { port: basePort + 6, controllerPort: basePort + 7 },
      controlPlane: { port: basePort + 8, url: `http://127.0.0.1:${basePort + 8}` },
      ingest: { metricsPort: basePort + 9 },
      agent: { metricsPort: basePort + 10 },
      assembler: { metricsPort: basePort + 11 },
      query: { port: basePort + 12, url: `http://127.0.0.1:${basePort + 12}` },
      // Jaeger also opens its query gRPC port, one below queryPort: basePort + 15.
      jaeger: { otlpHttpPort: basePort + 13, otlpGrpcPort: basePort + 14, queryPort: basePort + 16 },
    }, extra),
  });
}

export const testLogger = (name: string): Logger => createLogger(`test.${name}`, process.env.TAPFLEET_LOG_LEVEL ?? 'warn');
