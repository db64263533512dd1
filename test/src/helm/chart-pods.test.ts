import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod/v3';
import { clickhousePasswordFile, PROJECT_ROOT, redisPasswordFile } from '@tapfleet/runtime';
import { CreateTokenResponse, HostView } from '@tapfleet/schemas';
import { ensureHelmTools, SERVER_SERVICES, stackDown, stackUp } from '@tapfleet/stack';
import { isolatedStackConfig, testLogger } from '../stack-harness.js';
import { byName, checkManifests, podSpec, renderChart, type Container, type Manifest } from './chart-render.js';
import { containerEnv, materializePod, type ClusterSecrets } from './pod-emulator.js';

/**
 * The chart's pods, run as the kubelet would run them, against the real servers: each service's
 * container started from its rendered spec (args, env, the config file and every Secret as the
 * mounted files, the pod's uid and fsGroup), the control plane after its init container, and an
 * agent that enrolls with a join token from a Secret. Proves the rendered config and mounts are
 * what the services read, not just well-formed YAML. Kubernetes itself is the one thing missing.
 */
const log = testLogger('chart-pods');
const BASE = 43700;
const config = isolatedStackConfig(BASE);
const root = mkdtempSync(join(tmpdir(), 'tf-chart-pods-'));
chmodSync(root, 0o755); // the pods' uid must reach their files
const children: ChildProcess[] = [];
const NODE_NAME = 'node-1.pool-a.test.internal';

let manifests: Manifest[];
let cluster: ClusterSecrets;
before(async () => {
  const tools = await ensureHelmTools();
  await stackUp(config, log, { install: false, only: SERVER_SERVICES });
  const authDir = join(config.dataDir, 'nats-auth');
  const read = (f: string) => readFileSync(f, 'utf8');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // What an operator creates before installing (NOTES.txt): the signing key and the NATS account's files.
  cluster = {
    'tf-tapfleet-signing-key': { 'signing-key.pem': privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'signing-key.pub': publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    'tf-tapfleet-nats-auth': Object.fromEntries(['control-plane.creds', 'ingest.creds', 'assembler.creds', 'account.nk', 'account-signing.nk'].map((f) => [f, read(join(authDir, f))])),
  };
  const controlPlaneUrl = `http://127.0.0.1:${BASE + 8}`;
  manifests = checkManifests(tools, renderChart(tools, [], [
    `nats.urls[0]=${config.nats.url}`,
    `clickhouse.url=${config.clickhouse.url}`, `clickhouse.database=${config.clickhouse.database}`,
    `redis.url=${config.redis.url}`,
    // Inline, so the chart's own Secret (tf-tapfleet-stores) is exercised too.
    `stores.clickhousePassword=${read(clickhousePasswordFile(config)).trim()}`, `stores.redisPassword=${read(redisPasswordFile(config)).trim()}`,
    `controlPlane.port=${BASE + 8}`, `ingest.metricsPort=${BASE + 9}`, `agent.metricsPort=${BASE + 10}`, `assembler.metricsPort=${BASE + 11}`, `query.port=${BASE + 12}`,
    // No cluster DNS here: the agents reach the control plane on loopback.
    `config.controlPlane.url=${controlPlaneUrl}`,
  ]));
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  await stackDown(config, log, SERVER_SERVICES);
  if (!process.env.KEEP) {
    rmSync(root, { recursive: true, force: true });
    rmSync(config.dataDir, { recursive: true, force: true });
  }
});

const NODE = process.execPath;
const PATH = `${dirname(NODE)}:/usr/bin:/bin`;
/** The image's ENTRYPOINT is `node /app/bin/tapfleet.js`; /app is this checkout here. */
const fromImage = (text: string) => text.replaceAll('/app/', `${PROJECT_ROOT}/`);

interface Run { child: ChildProcess; output: () => string }

/** Starts one container: its argv as the image and spec make it, its env, uid and gid from the pod. */
function startContainer(podName: string, pod: Manifest, c: Container, extra: { nodeName?: string } = {}): Run {
  const spec = podSpec(pod);
  const files = materializePod(manifests, spec, c, join(root, podName), cluster);
  const env = { PATH, ...containerEnv(manifests, c, cluster, extra.nodeName ?? 'unused', files.remap) };
  const args = (c.args ?? []).map((a) => fromImage(files.remap(a.replaceAll('$$', '$'))));
  const [file, argv] = c.command ? [c.command[0]!, [...c.command.slice(1), ...args]] : [NODE, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), ...args]];
  const sc = spec.securityContext as { runAsUser?: number; runAsGroup?: number } | undefined;
  const child = spawn(file, argv, { env, uid: sc?.runAsUser ?? 0, gid: sc?.runAsGroup ?? 0, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { output = (output + d).slice(-20_000); });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { output = (output + d).slice(-20_000); });
  children.push(child);
  return { child, output: () => output };
}

async function exited(run: Run): Promise<number | null> {
  if (run.child.exitCode !== null) return run.child.exitCode;
  return new Promise((r) => run.child.once('exit', (code) => r(code)));
}

/** Polls /healthz until 200; fails with the container's output when it exits or 90 s pass. */
async function healthy(name: string, run: Run, port: number): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (run.child.exitCode !== null) assert.fail(`${name} exited ${run.child.exitCode}:\n${run.output()}`);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
    if (res?.status === 200) return;
    if (Date.now() > deadline) assert.fail(`${name} not healthy on ${port} after 90 s (last ${res?.status}):\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('each service pod, started from its rendered spec and mounted files as its own uid, is healthy against the real NATS, ClickHouse and Redis', async () => {
  const cp = byName(manifests, 'Deployment', 'tf-tapfleet-control-plane');
  const init = startContainer('control-plane', cp, podSpec(cp).initContainers![0]!);
  assert.equal(await exited(init), 0, init.output());
  const key = join(root, 'control-plane', 'var/lib/tapfleet/control-plane/signing-key.pem');
  assert.equal(statSync(key).mode & 0o777, 0o600);
  assert.equal(statSync(key).uid, 10001, 'the key belongs to the pod\'s uid');

  const services: [string, string, number][] = [
    ['control-plane', 'tf-tapfleet-control-plane', BASE + 8],
    ['ingest', 'tf-tapfleet-ingest', BASE + 9],
    ['assembler', 'tf-tapfleet-assembler-p0', BASE + 11],
    ['query', 'tf-tapfleet-query', BASE + 12],
  ];
  const runs = services.map(([pod, name]) => {
    const d = byName(manifests, 'Deployment', name);
    return startContainer(pod, d, podSpec(d).containers[0]!);
  });
  for (const [i, [, name, port]] of services.entries()) await healthy(name, runs[i]!, port);
  // The control plane signed with the Secret's key: the public half it wrote beside it is that key's.
  assert.equal(readFileSync(join(root, 'control-plane', 'var/lib/tapfleet/control-plane/signing-key.pub'), 'utf8'), cluster['tf-tapfleet-signing-key']!['signing-key.pub']);
});

test('the agent pod enrolls with the join token from its Secret, as host <node name, dots as underscores>, and keeps its issued credentials in its host-path state dir', async () => {
  const adminToken = readFileSync(join(root, 'control-plane', 'var/lib/tapfleet/control-plane/admin-token'), 'utf8').trim();
  const res = await fetch(`http://127.0.0.1:${BASE + 8}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'nodes', role: 'agent' }) });
  assert.equal(res.status, 201);
  const { token } = CreateTokenResponse.parse(await res.json());
  cluster['tf-tapfleet-agent-join'] = { 'join-token': token };

  const ds = byName(manifests, 'DaemonSet', 'tf-tapfleet-agent');
  const agent = startContainer('agent', ds, podSpec(ds).containers[0]!, { nodeName: NODE_NAME });
  await healthy('agent', agent, BASE + 10);
  // Healthy means connected with its issued credentials; the inventory has it once its hello is read.
  const hostIds = async () => {
    const hosts = await fetch(`http://127.0.0.1:${BASE + 8}/v1/hosts`, { headers: { authorization: `Bearer ${adminToken}` } });
    return z.array(HostView).parse(await hosts.json()).map((h) => h.hostId);
  };
  const deadline = Date.now() + 60_000;
  let ids = await hostIds();
  while (ids.length === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    ids = await hostIds();
  }
  assert.deepEqual(ids, ['node-1_pool-a_test_internal'], agent.output());
  // Its issued credentials are in its state dir (the host path), where a restarted pod finds them.
  assert.ok(statSync(join(root, 'agent', 'var/lib/tapfleet/agent/node-1_pool-a_test_internal/nats.creds')).isFile());
});
