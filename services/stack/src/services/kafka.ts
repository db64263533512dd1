import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { DEFAULT_DATA_DIR, PROJECT_ROOT, type Logger } from '@tapfleet/runtime';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { withTimeout, type ServiceDirs, type StackService } from './service.js';

const POM = join(PROJECT_ROOT, 'services', 'stack', 'kafka', 'pom.xml');

/**
 * Child processes run asynchronously: `stack up` waits for the other servers meanwhile, and a
 * synchronous Maven fetch or JVM start once froze those waits past redis-server's budget.
 */
async function run(binary: string, args: string[]): Promise<void> {
  try {
    await promisify(execFile)(binary, args, { maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${binary} ${args.slice(0, 4).join(' ')} ... failed: ${err.message}\n${(err.stderr ?? '').trim().split('\n').slice(-10).join('\n')}`);
  }
}

/** The broker's jars, fetched once from Maven Central (the pom names org.apache.kafka:kafka_2.13). */
export async function ensureKafkaJars(log?: Logger): Promise<string> {
  // Shared by every stack of this checkout (dev and test): the jars never change.
  const libs = join(DEFAULT_DATA_DIR, 'kafka', 'libs');
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith('kafka_2.13-'))) return libs;
  log?.info({ libs }, 'fetching the Kafka broker from Maven Central (mvn dependency:copy-dependencies)');
  mkdirSync(libs, { recursive: true });
  await run('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime']);
  return libs;
}

/** One KRaft node (broker + controller) on loopback; storage formatted on first start. */
export function kafkaService(config: TapfleetConfig, log?: Logger): StackService {
  const { port, controllerPort } = config.kafka;
  const host = '127.0.0.1';
  return {
    name: 'kafka',
    binary: 'java',
    host,
    port,
    extraPorts: [controllerPort],
    startTimeoutMs: 60_000,
    async prepare(dirs: ServiceDirs) {
      const libs = await ensureKafkaJars(log);
      const props = join(dirs.root, 'server.properties');
      writeFileSync(props, [
        'process.roles=broker,controller',
        'node.id=1',
        `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
        `advertised.listeners=PLAINTEXT://${host}:${port}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        `controller.quorum.bootstrap.servers=${host}:${controllerPort}`,
        `log.dirs=${dirs.data}`,
        'num.partitions=4',
        'offsets.topic.replication.factor=1',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'share.coordinator.state.topic.replication.factor=1',
        'group.initial.rebalance.delay.ms=0',
        '',
      ].join('\n'));
      const classpath = `${libs}/*`;
      if (!existsSync(join(dirs.data, 'meta.properties'))) {
        mkdirSync(dirs.data, { recursive: true });
        await run('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '--standalone', '-t', randomUUID().replace(/-/g, '').slice(0, 22), '-c', props]);
      }
      return ['-Xms256m', '-Xmx512m', '-cp', classpath, 'kafka.Kafka', props];
    },
    async checkHealth() {
      // kafkajs loads here, when a Kafka broker is actually checked, not with every `tapfleet` command.
      const { Kafka, logLevel } = await import('kafkajs');
      const admin = new Kafka({ clientId: 'tapfleet-stack-health', brokers: [`${host}:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1500 }).admin();
      try {
        await withTimeout(admin.connect(), 3000, 'kafka');
        await withTimeout(admin.describeCluster(), 3000, 'kafka');
      } finally {
        await admin.disconnect().catch(() => {});
      }
    },
  };
}
