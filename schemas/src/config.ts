import { z } from 'zod/v3';
import { HostId, Labels } from './common.js';
import { DeploymentTtl } from './duration.js';
import { TlsClientFiles, TlsServerFiles } from './tls.js';

const LogLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

const Port = z.number().int().safe().min(0).max(65535);

/** A delay a timer waits for: Node's timers fire at once past 2^31-1 ms, so longer is refused here. */
const TimerMs = z.number().int().safe().positive().max(2_147_483_647, 'at most 2147483647 ms (about 24.8 days)');

/** The control plane's HTTP API, and how CLIs reach it. */
export const ControlPlaneConfig = z.object({
  /** Loopback by default: expose it deliberately (behind TLS) when the fleet is remote. */
  host: z.string().default('127.0.0.1'),
  port: Port.default(7700),
  /** Where CLI commands and agents send requests (https:// when `tls` is set). */
  url: z.string().url().default('http://127.0.0.1:7700'),
  /** Serve the API over HTTPS with this certificate (docs/security.md, "TLS"). */
  tls: TlsServerFiles.optional(),
  /** The CA that clients (CLI, agents, the stack's health check) trust for an https:// `url`; default: the system's CAs. */
  caFile: z.string().startsWith('/', 'expected an absolute path').optional(),
  /** Bearer token for CLI commands; default: the admin token file the control plane wrote under dataDir. */
  token: z.string().optional(),
  /** A host is live while heartbeats arrive; gone after this long without one. */
  hostLivenessMs: TimerMs.default(15_000),
  /** How long a canary may take to report running before the rollout fails. */
  canaryTimeoutMs: TimerMs.default(60_000),
});
export type ControlPlaneConfig = z.infer<typeof ControlPlaneConfig>;

/** Building bundles: clang, and how the control plane queues compiles so one huge script cannot starve it. */
export const CompilerConfig = z.object({
  /** The clang binary (PATH lookup when bare). */
  clang: z.string().min(1).default('clang'),
  /** Wall time one bundle build (clang + llvm-strip) may take; past it the process group is killed and the script refused. */
  clangTimeoutMs: TimerMs.default(60_000),
  /** Builds the control plane runs at once; default: one per core but one, at least one. */
  concurrency: z.number().int().safe().positive().optional(),
  /** Builds waiting for a slot; past this a deploy is answered 503 with Retry-After. */
  maxQueued: z.number().int().safe().nonnegative().default(16),
  /** Retry-After (seconds) on a 503 for a full compile queue. */
  retryAfterS: z.number().int().safe().positive().default(10),
});
export type CompilerConfig = z.infer<typeof CompilerConfig>;

/** Which processes an agent traces: a pid list, or everything in a cgroup v2 directory. */
export const AgentScope = z.union([
  z.object({ pids: z.array(z.number().int().safe().positive()).min(1) }).strict(),
  z.object({ cgroup: z.string().startsWith('/', 'expected a cgroup v2 directory path') }).strict(),
]);
export type AgentScope = z.infer<typeof AgentScope>;

export const AgentConfig = z.object({
  /** Default: /etc/machine-id. Several agents on one machine (tests) need distinct ids. */
  hostId: HostId.optional(),
  labels: Labels.default({}),
  /** Tapset binary names (`$name`) -> absolute paths on this host; their profiles go in the hello. */
  binaries: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().startsWith('/')).default({}),
  scope: AgentScope.optional(),
  /** PEM public key the agent trusts; default: the control plane's key under dataDir. */
  trustedKeyFile: z.string().optional(),
  /**
   * API token the agent enrolls with when it has no NATS credentials yet (an `agent`-role
   * token from `tapfleet token create NAME --role agent`); default: `controlPlane.token`, else
   * the local admin token file. Used once: the issued credentials are kept in the agent's state dir.
   */
  joinToken: z.string().min(1).optional(),
  /** Prometheus /metrics and /healthz; 0 picks a free port (logged). */
  metricsHost: z.string().default('127.0.0.1'),
  metricsPort: Port.default(9464),
  heartbeatMs: TimerMs.default(2000),
  batch: z.object({
    maxEvents: z.number().int().safe().positive().default(2000),
    /**
     * A batch is sent once its records reach this many bytes, whatever their count: 2,000 events
     * of up to 8 KiB each would exceed NATS's 1 MiB message limit (max_payload) and never publish.
     */
    maxBytes: z.number().int().safe().min(16 << 10).max(900 << 10).default(512 << 10),
    maxDelayMs: TimerMs.default(50),
    /** Publishes awaiting a JetStream ack; beyond this new batches wait in the spool. */
    maxInFlight: z.number().int().safe().positive().default(32),
    /** Batches waiting for an ack slot in memory; past this they go to the disk spool. */
    maxQueuedBytes: z.number().int().safe().positive().default(64 << 20),
  }).default({}),
  spool: z.object({
    /** Bounded on-disk spool for when NATS is away; the oldest batches go (counted) when full. */
    maxBytes: z.number().int().safe().positive().default(256 << 20),
  }).default({}),
  governor: z.object({
    /** Probe CPU time per bundle, percent of one core, from the kernel's run-time stats. */
    maxCpuPercent: z.number().finite().positive().default(5),
    maxEventsPerSec: z.number().finite().positive().default(200_000),
    /** Over budget for this many consecutive stats windows detaches the bundle. */
    windows: z.number().int().safe().positive().default(2),
  }).default({}),
  clock: z.object({
    sampleIntervalMs: TimerMs.default(10_000),
    samplesPerInterval: z.number().int().safe().positive().default(5),
    /**
     * How far this host's clock may drift from the reference's between exchanges, in parts per
     * million (1 ppm = 1 us per second): a request/reply bound widens by it with age, and an
     * older, tighter estimate is kept over a fresh, looser one only while it stays tighter.
     * 50 ppm covers unsynchronised server crystals; a host disciplined by NTP reports the kernel's bound instead.
     */
    maxDriftPpm: z.number().finite().nonnegative().max(10_000).default(50),
    /** Added to this agent's wall clock (tests of cross-host correction). */
    artificialOffsetNs: z.number().int().safe().default(0),
  }).default({}),
  runner: z.object({
    snapshotMs: TimerMs.default(1000),
    statsMs: TimerMs.default(1000),
    restartBackoffMs: TimerMs.default(250),
    maxRestartBackoffMs: TimerMs.default(10_000),
  }).default({}),
});
export type AgentConfig = z.infer<typeof AgentConfig>;

/** The ingest service: JetStream -> ClickHouse, retention, the optional Kafka mirror. */
export const IngestConfig = z.object({
  metricsHost: z.string().default('127.0.0.1'),
  metricsPort: z.number().int().safe().min(0).max(65535).default(9465),
  /**
   * Messages per insert (per shard, with shards) at most; each holds up to ~2,000 events, so 100 makes ~200,000-row inserts.
   * Bigger inserts make fewer parts to merge: ClickHouse spent 7.1 CPU s per 2M rows with 100,
   * 8.2-10.7 with 50 (bench/results/ingest.md, --fetch-messages).
   */
  fetchMessages: z.number().int().safe().positive().default(100),
  /**
   * How long the oldest message of an insert waits for more before a smaller insert goes out:
   * inserts are big when events come fast and this young when they trickle (publish-to-queryable).
   */
  fetchWaitMs: TimerMs.default(50),
  insertsInFlight: z.number().int().safe().positive().default(2),
  /**
   * With ClickHouse shards (clickhouse.shards): event rows go `direct` to each shard's local table,
   * split by transaction key here, or `distributed`, one insert into the Distributed table that
   * splits them (synchronously). Both place a row alike; docs/scale-out.md has the measured rates.
   */
  shardInserts: z.enum(['direct', 'distributed']).default('direct'),
  /** Days kept per table; older daily partitions are dropped by the retention job. */
  retentionDays: z.record(z.string(), z.number().int().safe().positive()).default({
    probe_events: 7, aggregation_snapshots: 30, agent_status: 30, latency_rollup_1m: 90,
    // The query service's copy of the events that carry a transaction key (0010) lives as long as they do;
    // txn_index is a view of it since 0011 (nothing of its own to drop).
    txn_events: 7,
  }),
  retentionEveryMs: TimerMs.default(3_600_000),
  kafka: z.object({
    brokers: z.array(z.string().regex(/^[^\s:]+:[0-9]+$/, 'expected HOST:PORT')).min(1),
    topic: z.string().min(1).default('tapfleet.events'),
  }).optional(),
});
export type IngestConfig = z.infer<typeof IngestConfig>;

/** The assembler: events with a transaction key -> spans in ClickHouse and over OTLP. */
export const AssemblerConfig = z.object({
  metricsHost: z.string().default('127.0.0.1'),
  metricsPort: z.number().int().safe().min(0).max(65535).default(9466),
  /**
   * Replicas share the work by a hash of the transaction key: replica `partition` of
   * `partitions` keeps the keys whose hash falls to it (each replica has its own durable
   * consumer). To rebalance, stop every replica and start the new set (docs/architecture.md).
   */
  partitions: z.number().int().safe().positive().max(8).default(1),
  partition: z.number().int().safe().nonnegative().default(0),
  /** A transaction without its final event closes after this long without a new event. */
  quietMs: TimerMs.default(1000),
  /** A transaction still receiving events is closed (and re-opened by later ones) at this age. */
  maxOpenMs: TimerMs.default(30_000),
  /** Open transactions kept in memory; beyond it the oldest is closed early and counted. */
  maxOpenTransactions: z.number().int().safe().positive().default(200_000),
  /** Events kept per transaction; more close it early (a runaway key must not hold memory). */
  maxEventsPerTransaction: z.number().int().safe().positive().default(1024),
  /**
   * Closed transactions kept this long (at most maxLingering of them), so a late event re-opens
   * them from memory; a later one re-opens them from their stored events (a ClickHouse read).
   */
  lingerMs: TimerMs.default(2_000),
  maxLingering: z.number().int().safe().positive().default(10_000),
  otlp: z.object({
    /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; unset = no export. */
    url: z.string().url().optional(),
    headers: z.record(z.string(), z.string()).default({}),
    /** Spans per export request. */
    maxBatchSpans: z.number().int().safe().positive().default(2048),
    /** Spans waiting for an unreachable collector; beyond it new spans are dropped and counted. */
    maxQueueSpans: z.number().int().safe().positive().default(200_000),
    timeoutMs: TimerMs.default(10_000),
  }).default({}),
  /** Mirror each span (TxnSpanRow JSON) to Kafka when set. */
  kafka: z.object({
    brokers: z.array(z.string().regex(/^[^\s:]+:[0-9]+$/, 'expected HOST:PORT')).min(1),
    topic: z.string().min(1).default('tapfleet.spans'),
  }).optional(),
});
export type AssemblerConfig = z.infer<typeof AssemblerConfig>;

/** The query service: history HTTP API and web page. */
export const QueryConfig = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().safe().min(0).max(65535).default(7800),
  /** Where CLI commands (`tapfleet query ...`) reach the query service (https:// when `tls` is set). */
  url: z.string().url().default('http://127.0.0.1:7800'),
  /** Serve the API and web page over HTTPS with this certificate. */
  tls: TlsServerFiles.optional(),
  /** The CA that clients trust for an https:// `url`; default: the system's CAs. */
  caFile: z.string().startsWith('/', 'expected an absolute path').optional(),
});
export type QueryConfig = z.infer<typeof QueryConfig>;

/** The local Jaeger (v2, all-in-one, memory storage) `stack up --with jaeger` runs as the OTLP receiver. */
export const JaegerConfig = z.object({
  otlpHttpPort: z.number().int().safe().min(1).max(65535).default(4318),
  otlpGrpcPort: z.number().int().safe().min(1).max(65535).default(4317),
  queryPort: z.number().int().safe().min(1).max(65535).default(16686),
});
export type JaegerConfig = z.infer<typeof JaegerConfig>;

/**
 * The demo trading pipeline `tapfleet demo` (`npm start`) runs as three traced "hosts" on this
 * machine: gateway, risk and matcher (test/demo), each with its own agent, and a client sending orders.
 */
export const DemoConfig = z.object({
  /** The stages' TCP ports on 127.0.0.1 (orders flow gateway -> risk -> matcher). */
  gatewayPort: z.number().int().safe().min(1).max(65535).default(7101),
  riskPort: z.number().int().safe().min(1).max(65535).default(7102),
  matcherPort: z.number().int().safe().min(1).max(65535).default(7103),
  /** /metrics and /healthz of the three demo agents: this port, +1 (risk), +2 (matcher). */
  agentMetricsPort: z.number().int().safe().min(1).max(65533).default(9471),
  /** Orders per second the client sends (0: as fast as its in-flight window allows). */
  rate: z.number().int().safe().nonnegative().max(1_000_000).default(200),
  /** Busy wait per stage between receiving an order and passing it on, in us: a known truth to read off the hops. */
  delaysUs: z.object({
    gateway: z.number().int().safe().nonnegative().max(1_000_000).default(50),
    risk: z.number().int().safe().nonnegative().max(1_000_000).default(20),
    matcher: z.number().int().safe().nonnegative().max(1_000_000).default(100),
  }).default({}),
  /** How long the demo deployment may live without being renewed (it is stopped on exit anyway). */
  ttl: DeploymentTtl.default('12h'),
});
export type DemoConfig = z.infer<typeof DemoConfig>;

const NatsUrl = z.string().regex(/^nats:\/\/[^\s]+:[0-9]+$/, 'expected nats://HOST:PORT');

/**
 * The one configuration shape for every tapfleet process. Defaults point at the
 * local stack `tapfleet stack up` starts; env vars and an optional JSON file override them.
 */
/** One more ClickHouse shard: its HTTP URL (clients) and native port (Distributed tables reach shards by it). */
export const ClickHouseShard = z.object({
  url: z.string().url(),
  tcpPort: z.number().int().safe().min(1).max(65535),
});
export type ClickHouseShard = z.infer<typeof ClickHouseShard>;

export const TapfleetConfig = z.object({
  /** Project-local state: stack data, logs, pid files, keys, spools. */
  dataDir: z.string().min(1),
  logLevel: LogLevel.default('info'),
  nats: z.object({
    url: NatsUrl.default('nats://127.0.0.1:4222'),
    /** HTTP monitoring port of the nats-server the stack starts. */
    monitorPort: z.number().int().safe().min(1).max(65535).default(8222),
    /**
     * This process's NATS credentials (a `.creds` file: user JWT + nkey seed). Default: by
     * identity under `authDir` (`control-plane.creds`, `ingest.creds`, `admin.creds`); an agent
     * uses the credentials it was issued at enrollment (`<dataDir>/agent/<host>/nats.creds`).
     */
    credsFile: z.string().startsWith('/', 'expected an absolute path').optional(),
    /**
     * Where the stack keeps the NATS operator, the tapfleet account and the service credentials.
     * The control plane reads the account's signing key here to issue agent credentials.
     * Default: `<dataDir>/nats-auth`.
     */
    authDir: z.string().startsWith('/', 'expected an absolute path').optional(),
    /** Connect over TLS, trusting this CA (and presenting a client certificate if the server requires one). */
    tls: TlsClientFiles.optional(),
    /**
     * Every server clients may connect to (an external cluster: all its nodes). Clients pick one
     * and fail over to the others. Default: the stack's cluster nodes when `cluster.nodes` > 1,
     * else `url` alone.
     */
    urls: z.array(NatsUrl).min(1).optional(),
    /**
     * Copies of each stream, KV bucket and object store (JetStream replicas). Default: 3 when the
     * stack runs a cluster of 3 or more, the node count when fewer, 1 for one server. Set it for
     * an external cluster (`urls`).
     */
    replicas: z.number().int().safe().min(1).max(5).optional(),
    /**
     * The NATS cluster `tapfleet stack up` runs (`--cluster` = 3 nodes). One node (the default)
     * is the single server at `url`/`monitorPort`; with more, node i (1-based) listens for
     * clients on portBase + 3(i-1), for routes on the next port and for monitoring on the one
     * after, each with its own data dir, under the name `name`.
     */
    cluster: z.object({
      nodes: z.number().int().safe().min(1).max(5).default(1),
      name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected a cluster name of letters, digits, - and _').default('tapfleet'),
      portBase: z.number().int().safe().min(1).max(65520).default(4230),
    }).default({}),
  }).default({}),
  clickhouse: z.object({
    /** http:// or https:// (then `tls` says whom to trust). */
    url: z.string().url().default('http://127.0.0.1:8123'),
    /** For an https:// url: the CA to trust and an optional client certificate. */
    tls: TlsClientFiles.optional(),
    /** Native-protocol port of the clickhouse-server the stack starts (clickhouse-client uses it). */
    tcpPort: z.number().int().safe().min(1).max(65535).default(9000),
    database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('tapfleet'),
    /** The stack's clickhouse-server has the one `default` user, with a password (see passwordFile). */
    username: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a ClickHouse user name').default('default'),
    /** Wins over passwordFile when set (env TAPFLEET_CLICKHOUSE_PASSWORD). */
    password: z.string().min(1).optional(),
    /**
     * A file holding the password (trimmed). Default: `<dataDir>/stack-auth/clickhouse.password`,
     * which `tapfleet stack up` creates (random, mode 0600) before it starts clickhouse-server.
     * A missing file means no password: a server someone else runs without one.
     */
    passwordFile: z.string().startsWith('/', 'expected an absolute path').optional(),
    /**
     * The cluster's other shards (same user and password), when one node is not enough: the node at
     * `url` is shard 1 and these follow. Empty (the default): one node, tables as the migrations
     * write them. Otherwise each table is a `<name>_local` table on every shard behind a
     * `Distributed` table `<name>` (docs/scale-out.md); `stack up` starts these servers too.
     */
    shards: z.array(ClickHouseShard).default([]),
    /** The `remote_servers` cluster the Distributed tables name (the stack writes it into every shard's config). */
    cluster: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('tapfleet'),
  }).default({}),
  /** The local Kafka broker (KRaft, one node) `tapfleet stack up --kafka` and the tests run for the mirror. */
  kafka: z.object({
    port: z.number().int().safe().min(1).max(65535).default(9092),
    controllerPort: z.number().int().safe().min(1).max(65535).default(9093),
  }).default({}),
  redis: z.object({
    /** rediss:// connects over TLS (then `tls` says whom to trust). */
    url: z.string().regex(/^rediss?:\/\/[^\s]+:[0-9]+(\/[0-9]+)?$/, 'expected redis://HOST:PORT[/DB] or rediss://HOST:PORT[/DB]').default('redis://127.0.0.1:6379'),
    tls: TlsClientFiles.optional(),
    /**
     * Find the master through Redis Sentinel instead of `url`'s host: the sentinels are asked for
     * `masterName`'s address and asked again after a failover (`url` then gives only the scheme
     * and database). The master's password is `password`/`passwordFile`; the sentinels' own, if
     * they require one, `sentinelPasswordFile`.
     */
    sentinel: z.object({
      masterName: z.string().min(1).max(200),
      nodes: z.array(z.string().regex(/^[^\s:]+:[0-9]+$/, 'expected HOST:PORT')).min(1).max(16),
      sentinelPasswordFile: z.string().startsWith('/', 'expected an absolute path').optional(),
    }).strict().optional(),
    /** AUTH password; wins over passwordFile when set (env TAPFLEET_REDIS_PASSWORD). */
    password: z.string().min(1).optional(),
    /**
     * A file holding the AUTH password (trimmed). Default: `<dataDir>/stack-auth/redis.password`,
     * which `tapfleet stack up` creates (random, mode 0600) before it starts redis-server.
     * A missing file means no password: a server someone else runs without one.
     */
    passwordFile: z.string().startsWith('/', 'expected an absolute path').optional(),
  }).default({}),
  /**
   * The servers `tapfleet stack up` runs (nats-server, clickhouse-server, redis-server): with
   * `tls` they accept TLS connections only, with this certificate (and require client
   * certificates signed by `tls.clientCaFile` when it is set).
   */
  stack: z.object({
    tls: TlsServerFiles.optional(),
  }).default({}),
  controlPlane: ControlPlaneConfig.default({}),
  compiler: CompilerConfig.default({}),
  agent: AgentConfig.default({}),
  ingest: IngestConfig.default({}),
  assembler: AssemblerConfig.default({}),
  query: QueryConfig.default({}),
  jaeger: JaegerConfig.default({}),
  demo: DemoConfig.default({}),
});
export type TapfleetConfig = z.infer<typeof TapfleetConfig>;

/** What a config file may contain: any subset. */
export const TapfleetConfigFile = TapfleetConfig.partial().extend({ dataDir: z.string().min(1).optional() });
export type TapfleetConfigFile = z.infer<typeof TapfleetConfigFile>;
