/** Where one stack service keeps its state, all under <dataDir>/stack/<name>/. */
export interface ServiceDirs {
  root: string;
  data: string;
  logFile: string;
  pidFile: string;
}

/** One server the local stack runs: how to start it and how to tell it is healthy. */
export interface StackService {
  /** `nats-1`.. are the nodes of a NATS cluster, which the stack starts and stops as `nats`. */
  name:
    | 'nats' | `nats-${number}` | 'clickhouse' | 'redis' | 'kafka' | 'jaeger' | 'control-plane' | 'ingest' | 'assembler' | 'query' | 'agent'
    | 'demo-gateway' | 'demo-risk' | 'demo-matcher' | 'demo-agent-gateway' | 'demo-agent-risk' | 'demo-agent-matcher'
    /** Shards 2.. of a ClickHouse cluster (clickhouse.shards); `clickhouse` is shard 1. */
    | `clickhouse-shard${number}`;
  /** What `ps` would show; used in messages about a port taken by something else. */
  binary: string;
  host: string;
  /** The port clients use; its being open decides start vs reuse. */
  port: number;
  /** Other ports it listens on, which must be free before we start it. */
  extraPorts: number[];
  startTimeoutMs: number;
  /** The child's environment, when it must differ from ours. */
  env?: NodeJS.ProcessEnv;
  /** Writes any config files and returns the command-line arguments; never blocks the event loop for long (others are being waited for). */
  prepare(dirs: ServiceDirs): string[] | Promise<string[]>;
  /** Resolves if the service answers as it should, else rejects with the reason. */
  checkHealth(): Promise<void>;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
