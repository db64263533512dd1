import type { AgentDeploymentStatus, AgentHeartbeat, AgentHello, BinaryProfile, BundleManifest, CreateDeploymentRequest, Deployment, EventBatchHeader, EventLayout, KernelProfile, AssignmentSet } from './index.js';

/** One valid example of each cross-process message, shared by the schema tests. */
export const BUILD_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
export const SHA = 'ab'.repeat(32);
export const BOOT_ID = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';

export const kernelProfile: KernelProfile = {
  buildId: BUILD_ID,
  release: '6.18.44',
  version: '#1 SMP PREEMPT_DYNAMIC',
  arch: 'x86_64',
  btf: { present: true, sha256: SHA },
  tracepoints: {
    'sched:sched_switch': {
      id: 316,
      fields: [
        { decl: 'char prev_comm[16]', name: 'prev_comm', offset: 8, size: 16, signed: false },
        { decl: 'pid_t prev_pid', name: 'prev_pid', offset: 24, size: 4, signed: true },
      ],
    },
  },
  probeKinds: ['tracepoint', 'uprobe', 'uretprobe', 'usdt', 'interval', 'begin', 'end'],
};

export const binaryProfile: BinaryProfile = {
  path: '/opt/gw/bin/gateway',
  buildId: BUILD_ID,
  symbols: [{ name: 'submit_order', address: 0x401136, size: 42, fileOffset: 0x1136 }],
  usdt: [{ provider: 'gw', name: 'order__start', address: 0x401150, base: 0x402000, semaphore: 0, args: '8@%rdi -4@%esi' }],
};

export const eventLayout: EventLayout = {
  id: 0,
  name: 'order_sent',
  size: 64,
  fields: [
    { name: 'order', type: 'u64', offset: 40, size: 8 },
    { name: 'took', type: 'u64', offset: 48, size: 8 },
    { name: 'venue', type: 'str', offset: 56, size: 8 },
  ],
  txnField: 'order',
};

export const manifest: BundleManifest = {
  format: 1,
  bundleId: SHA,
  scriptDigest: SHA,
  compilerVersion: '0.1.0',
  kernel: { buildId: BUILD_ID, release: '6.18.44' },
  binaries: [{ path: '/opt/gw/bin/gateway', buildId: BUILD_ID }],
  attach: [
    { kind: 'uretprobe', program: 'p0_ret', binary: '/opt/gw/bin/gateway', symbol: 'submit_order', offset: 0x1136 },
    { kind: 'tracepoint', program: 'p1', category: 'sched', event: 'sched_switch' },
    { kind: 'interval', periodNs: 1_000_000_000, actions: [{ op: 'print', map: '@lat' }] },
  ],
  events: [eventLayout],
  maps: [{ name: '@lat', kind: 'hist', keySize: 0, keyFields: [], valueSize: 8, maxEntries: 64 }],
  limits: { maxStringBytes: 64, maxMapEntries: 10240, maxStatementsPerProbe: 1000, ringBufferBytes: 1 << 22 },
  objectSha256: SHA,
};

export const batchHeader: EventBatchHeader = {
  v: 1,
  hostId: 'host-a',
  bootId: BOOT_ID,
  deploymentId: 'd-1a2b3c4d',
  bundleId: SHA,
  kernelBuildId: BUILD_ID,
  firstSeq: 100,
  count: 2,
  clock: { offsetNs: -1200, uncertaintyNs: 80, source: 'request-reply' },
};

export const hello: AgentHello = {
  hostId: 'host-a',
  bootId: BOOT_ID,
  agentVersion: '0.1.0',
  sentAtMs: 1_790_000_000_000,
  labels: { role: 'gateway', 'k8s.io/zone': 'a' },
  kernel: { buildId: BUILD_ID, release: '6.18.44', version: '#1 SMP', arch: 'x86_64', profileDigest: SHA },
  binaries: [{ name: 'gateway', path: '/opt/gw/bin/gateway', buildId: BUILD_ID, profileDigest: SHA }],
};

export const heartbeat: AgentHeartbeat = {
  hostId: 'host-a',
  bootId: BOOT_ID,
  agentVersion: '0.1.0',
  sentAtMs: 1_790_000_000_000,
  clock: { offsetNs: 1500, uncertaintyNs: 40, sampledAtMs: 1_790_000_000_000 },
  runningDeployments: ['d-1a2b3c4d'],
  labels: { role: 'gateway' },
  kernelBuildId: BUILD_ID,
};

export const status: AgentDeploymentStatus = {
  hostId: 'host-a',
  bootId: BOOT_ID,
  agentVersion: '0.1.0',
  sentAtMs: 1_790_000_000_000,
  deploymentId: 'd-1a2b3c4d',
  bundleId: SHA,
  state: 'refused',
  reason: 'kernel build-id mismatch',
  probes: [{ program: 'p0', ok: false, errno: 2, message: 'symbol not found' }],
  loss: { producedByKernel: 10, ringBufferDrops: 1, spooled: 0, spoolDrops: 0, published: 9, malformed: 0, received: 9 },
  runnerRestarts: 0,
};

export const deployment: Deployment = {
  id: 'd-1a2b3c4d',
  phase: 'done',
  scriptName: 'orders.tap',
  scriptDigest: SHA,
  selector: { role: 'gateway' },
  canary: true,
  createdAtMs: 1_790_000_000_000,
  expiresAtMs: 1_790_000_600_000,
  bundles: { [BUILD_ID]: SHA },
  targets: [{ hostId: 'host-a', bundleId: SHA, canary: true }],
  compiles: { total: 1, cached: 0 },
};

export const assignmentSet: AssignmentSet = {
  hostId: 'host-a',
  issuedAtMs: 1_790_000_000_000,
  assignments: [{ deploymentId: 'd-1a2b3c4d', bundleId: SHA, expiresAtMs: 1_790_000_600_000, pids: [] }],
  signature: `${'A'.repeat(86)}==`,
};

export const createDeployment: CreateDeploymentRequest = {
  scriptName: 'orders.tap',
  script: 'probe begin { }',
  selector: { role: 'gateway' },
  ttl: '10m',
  canary: false,
  params: [],
};
