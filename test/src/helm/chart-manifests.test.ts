import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@tapfleet/runtime';
import { TapfleetConfig } from '@tapfleet/schemas';
import { ensureHelmTools, type HelmTools } from '@tapfleet/stack';
import { byName, checkManifests, PRODUCTION_VALUES, podSpec, renderChart, workloads, type Container, type Manifest, type PodSpec } from './chart-render.js';

let tools: HelmTools;
let defaults: Manifest[];
let production: Manifest[];
before(async () => {
  tools = await ensureHelmTools();
  defaults = checkManifests(tools, renderChart(tools));
  production = checkManifests(tools, renderChart(tools, [PRODUCTION_VALUES]));
});

const SERVICES = [
  { deployment: 'tf-tapfleet-control-plane', port: 7700, command: 'control-plane' },
  { deployment: 'tf-tapfleet-ingest', port: 9465, command: 'ingest' },
  { deployment: 'tf-tapfleet-assembler-p0', port: 9466, command: 'assembler' },
  { deployment: 'tf-tapfleet-query', port: 7800, command: 'query-server' },
];
const AGENT = 'tf-tapfleet-agent';

/**
 * What the agent container runs on a node of this name: its shell line, with Kubernetes' `$$`
 * escape undone as the kubelet does, run by /bin/sh with a `node` that prints its arguments.
 */
function agentArgv(c: Container, nodeName: string): string {
  const bin = mkdtempSync(join(tmpdir(), 'tf-agent-argv-'));
  try {
    writeFileSync(join(bin, 'node'), '#!/bin/sh\nshift\necho "$@"\n', { mode: 0o755 });
    const line = (c.args ?? []).join(' ').replaceAll('$$', '$');
    const r = spawnSync(c.command![0]!, [...c.command!.slice(1), line], { env: { PATH: `${bin}:/usr/bin:/bin`, NODE_NAME: nodeName }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

const containers = (spec: PodSpec): Container[] => [...spec.containers, ...(spec.initContainers ?? [])];
const mount = (c: Container, path: string) => c.volumeMounts?.find((m) => m.mountPath === path);
const volume = (spec: PodSpec, name: string) => spec.volumes?.find((v) => v.name === name);

test('a Deployment per service: its command, replicas, resources, liveness and readiness on /healthz of the port Prometheus scrapes', () => {
  for (const s of SERVICES) {
    const d = byName(defaults, 'Deployment', s.deployment);
    const spec = podSpec(d);
    const [c] = spec.containers;
    assert.ok(c);
    assert.deepEqual(c.args, [s.command], s.deployment);
    assert.ok((d.spec?.replicas ?? 0) >= 1);
    assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory && c.resources.limits?.memory, `${s.deployment} resources`);
    const port = c.ports?.find((p) => p.name === 'http');
    assert.equal(port?.containerPort, s.port);
    for (const probe of [c.livenessProbe, c.readinessProbe]) assert.deepEqual([probe?.httpGet?.path, probe?.httpGet?.port], ['/healthz', 'http'], s.deployment);
    assert.deepEqual(d.spec?.template?.metadata.annotations?.['prometheus.io/scrape'], 'true');
    assert.equal(d.spec?.template?.metadata.annotations?.['prometheus.io/port'], String(s.port));
    assert.equal(d.spec?.template?.metadata.annotations?.['prometheus.io/path'], '/metrics');
  }
  assert.equal(byName(defaults, 'Deployment', 'tf-tapfleet-ingest').spec?.replicas, 2);
  // Under tls.enabled the APIs' port (which serves /healthz and /metrics too) is probed and scraped over HTTPS.
  for (const name of ['tf-tapfleet-control-plane', 'tf-tapfleet-query']) {
    const d = byName(production, 'Deployment', name);
    const c = podSpec(d).containers[0]!;
    assert.deepEqual([c.livenessProbe?.httpGet?.scheme, c.readinessProbe?.httpGet?.scheme], ['HTTPS', 'HTTPS'], name);
    assert.equal(d.spec?.template?.metadata.annotations?.['prometheus.io/scheme'], 'https', name);
  }
  assert.equal(byName(production, 'Deployment', 'tf-tapfleet-ingest').spec?.template?.metadata.annotations?.['prometheus.io/scheme'], undefined, 'metrics-only ports stay plain HTTP');
  // Services for the two APIs.
  for (const name of ['tf-tapfleet-control-plane', 'tf-tapfleet-query']) byName(defaults, 'Service', name);
});

test('nothing is privileged by default: the services run as non-root on a read-only root with no capabilities; only the agent has hostPID', () => {
  for (const values of [defaults, production]) {
    for (const w of workloads(values)) {
      const spec = podSpec(w);
      const isAgent = w.metadata.name === AGENT;
      assert.equal(spec.hostPID ?? false, isAgent, `${w.metadata.name} hostPID`);
      assert.equal(spec.hostNetwork ?? false, false, `${w.metadata.name} hostNetwork`);
      assert.equal(spec.hostIPC ?? false, false, `${w.metadata.name} hostIPC`);
      for (const c of containers(spec)) {
        assert.equal(c.securityContext?.privileged ?? false, false, `${w.metadata.name}/${c.name} privileged`);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${w.metadata.name}/${c.name} allowPrivilegeEscalation`);
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${w.metadata.name}/${c.name} readOnlyRootFilesystem`);
        assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${w.metadata.name}/${c.name} drops every capability`);
        if (!isAgent) {
          assert.deepEqual(c.securityContext?.capabilities?.add ?? [], [], `${w.metadata.name}/${c.name} adds none`);
          assert.equal(spec.securityContext?.runAsNonRoot, true, `${w.metadata.name} runAsNonRoot`);
          assert.ok((spec.securityContext?.runAsUser ?? 0) > 0, `${w.metadata.name} runAsUser`);
        }
      }
      for (const v of spec.volumes ?? []) if (!isAgent) assert.equal(v.hostPath, undefined, `${w.metadata.name} mounts no host path (${v.name})`);
    }
  }
});

test('the agent DaemonSet: hostPID, CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE (CAP_SYS_ADMIN only when asked), read-only BTF, kernel notes, /proc and tracefs, a writable state and spool volume', () => {
  const agent = byName(defaults, 'DaemonSet', AGENT);
  const spec = podSpec(agent);
  assert.equal(spec.hostPID, true);
  const [c] = spec.containers;
  assert.ok(c);
  assert.deepEqual([...(c.securityContext?.capabilities?.add ?? [])].sort(), ['BPF', 'PERFMON', 'SYS_RESOURCE']);
  assert.equal(c.securityContext?.privileged, false);
  const readOnlyHostPaths = { '/sys/kernel/btf': '/sys/kernel/btf', '/sys/kernel/notes': '/sys/kernel/notes', '/proc': '/host/proc', '/sys/kernel/tracing': '/sys/kernel/tracing' };
  for (const [hostPath, mountPath] of Object.entries(readOnlyHostPaths)) {
    const m = mount(c, mountPath);
    assert.ok(m, `${mountPath} mounted`);
    assert.equal(m.readOnly, true, `${mountPath} read-only`);
    assert.equal(volume(spec, m.name)?.hostPath?.path, hostPath);
  }
  const state = mount(c, '/var/lib/tapfleet');
  assert.ok(state && !state.readOnly, 'the data dir (state, credentials, spool) is writable');
  assert.deepEqual(volume(spec, state.name)?.hostPath, { path: '/var/lib/tapfleet-agent', type: 'DirectoryOrCreate' });
  assert.ok(mount(c, '/tmp') && volume(spec, mount(c, '/tmp')!.name)?.emptyDir, '/tmp is a scratch volume');
  // Every host path the agent sees is one of the above: nothing writable from the host but its own state.
  const hostPathVolumes = (spec.volumes ?? []).filter((v) => v.hostPath).map((v) => v.hostPath!.path).sort();
  assert.deepEqual(hostPathVolumes, ['/proc', '/sys/kernel/btf', '/sys/kernel/notes', '/sys/kernel/tracing', '/var/lib/tapfleet-agent']);
  // Host id: the node's name from the downward API, dots as underscores (a host id goes into NATS subjects).
  assert.deepEqual(c.env?.find((e) => e.name === 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
  assert.deepEqual(c.command, ['/bin/sh', '-c']);
  assert.equal(agentArgv(c, 'ip-10-0-1-23.eu-west-1.compute.internal'), 'agent --host-id=ip-10-0-1-23_eu-west-1_compute_internal');
  assert.deepEqual([c.livenessProbe?.httpGet?.path, c.readinessProbe?.httpGet?.path], ['/healthz', '/healthz']);
  assert.equal(agent.spec?.template?.metadata.annotations?.['prometheus.io/port'], '9464');

  const withSysAdmin = checkManifests(tools, renderChart(tools, [], ['agent.sysAdmin=true']));
  const added = podSpec(byName(withSysAdmin, 'DaemonSet', AGENT)).containers[0]?.securityContext?.capabilities?.add ?? [];
  assert.deepEqual([...added].sort(), ['BPF', 'PERFMON', 'SYS_ADMIN', 'SYS_RESOURCE']);
  assert.equal(podSpec(byName(withSysAdmin, 'DaemonSet', AGENT)).containers[0]?.securityContext?.privileged, false, 'still not privileged');
  const prodAdded = podSpec(byName(production, 'DaemonSet', AGENT)).containers[0]?.securityContext?.capabilities?.add ?? [];
  assert.deepEqual([...prodAdded].sort(), ['BPF', 'PERFMON', 'SYS_PTRACE', 'SYS_RESOURCE'], 'extraCapabilities add to the three');
});

test('secrets are referenced, never inlined: no env value holds a credential, inline passwords appear only in their Secret, the private signing key only in the control plane', () => {
  const password = 'Pw-only-in-the-secret-1234';
  const rendered = renderChart(tools, [], [`stores.clickhousePassword=${password}`, `stores.redisPassword=${password}x`]);
  const ms = checkManifests(tools, rendered);
  const occurrences = rendered.split(password).length - 1;
  assert.equal(occurrences, 0, 'the password is in no manifest as plain text (the Secret holds it base64-encoded)');
  const secret = byName(ms, 'Secret', 'tf-tapfleet-stores');
  assert.equal(Buffer.from(secret.data?.['clickhouse-password'] ?? '', 'base64').toString(), password);
  assert.equal(Buffer.from(secret.data?.['redis-password'] ?? '', 'base64').toString(), `${password}x`);

  for (const values of [ms, production]) {
    for (const w of workloads(values)) {
      const spec = podSpec(w);
      for (const c of containers(spec)) {
        for (const e of c.env ?? []) {
          if (e.value !== undefined) assert.ok(['TAPFLEET_CONFIG', 'HOME'].includes(e.name), `${w.metadata.name}/${c.name}: env ${e.name} has a literal value`);
          else assert.ok(e.valueFrom?.secretKeyRef || e.valueFrom?.fieldRef, `${w.metadata.name}/${c.name}: env ${e.name}`);
        }
        assert.ok(!(c.args ?? []).some((a) => /password|token|secret/i.test(a)), `${w.metadata.name}: no credential in argv`);
      }
      const signingItems = (spec.volumes ?? []).filter((v) => v.secret?.secretName.endsWith('signing-key')).flatMap((v) => v.secret?.items?.map((i) => i.key) ?? ['<the whole secret>']);
      if (w.metadata.name === 'tf-tapfleet-control-plane') assert.deepEqual(signingItems, ['signing-key.pem']);
      else if (w.metadata.name === AGENT) assert.deepEqual(signingItems, ['signing-key.pub'], 'agents get the public half only');
      else assert.deepEqual(signingItems, [], `${w.metadata.name} has no signing key`);
    }
  }
  const joinToken = podSpec(byName(production, 'DaemonSet', AGENT)).containers[0]?.env?.find((e) => e.name === 'TAPFLEET_JOIN_TOKEN');
  assert.deepEqual(joinToken?.valueFrom?.secretKeyRef, { name: 'tapfleet-agent-join', key: 'join-token', optional: true });
  assert.ok(!production.some((m) => m.kind === 'Secret'), 'with existingSecret everywhere the chart creates no Secret');
});

/** Paths of keys in `given` that `parsed` (zod's output, unknown keys stripped) lacks. */
function unknownKeys(given: unknown, parsed: unknown, at = ''): string[] {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) return [];
  const out = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  return Object.entries(given).flatMap(([k, v]) => (k in out ? unknownKeys(v, out[k], `${at}${k}.`) : [`${at}${k}`]));
}

test('the config file is the services\' own schema: it parses, listens beyond loopback, and every file it names is mounted where it is read', () => {
  for (const values of [defaults, production]) {
    const cm = byName(values, 'ConfigMap', 'tf-tapfleet-config');
    for (const [key, text] of Object.entries(cm.data ?? {})) {
      const given: unknown = JSON.parse(text);
      // Read as a service reads it: the one loader, the file as TAPFLEET_CONFIG, no other env.
      const dir = mkdtempSync(join(tmpdir(), 'tf-chart-config-'));
      writeFileSync(join(dir, 'config.json'), text);
      const config = loadConfig({ env: { TAPFLEET_CONFIG: join(dir, 'config.json') } });
      rmSync(dir, { recursive: true, force: true });
      const unknown = unknownKeys(given, config);
      assert.deepEqual(unknown, [], `${key}: keys the config schema does not know`);
      assert.equal(config.controlPlane.host, '0.0.0.0');
      assert.equal(config.query.host, '0.0.0.0');
      assert.equal(config.ingest.metricsHost, '0.0.0.0');
      assert.equal(config.agent.metricsHost, '0.0.0.0');
      if (key.startsWith('assembler-p')) assert.equal(config.assembler.partition, Number(key.slice('assembler-p'.length, -'.json'.length)));
    }
  }
  const prodConfig = TapfleetConfig.parse(JSON.parse(byName(production, 'ConfigMap', 'tf-tapfleet-config').data?.['config.json'] ?? ''));
  assert.equal(prodConfig.dataDir, '/var/lib/tapfleet');
  assert.equal(prodConfig.nats.url, 'nats://nats-0.nats.messaging.svc:4222');
  assert.deepEqual(prodConfig.ingest.kafka?.brokers, ['kafka-0.kafka.streaming.svc:9092', 'kafka-1.kafka.streaming.svc:9092']);
  assert.equal(prodConfig.assembler.partitions, 3);
  assert.equal(prodConfig.assembler.otlp.url, 'http://otel-collector.observability.svc:4318/v1/traces');

  // Each service mounts what its config file points at: its own NATS credentials (by identity,
  // under nats.authDir), the store passwords, the signing key or its public half.
  const needs: Record<string, string[]> = {
    'tf-tapfleet-control-plane': ['/etc/tapfleet/nats-auth/control-plane.creds', '/etc/tapfleet/nats-auth/account.nk', '/etc/tapfleet/nats-auth/account-signing.nk', prodConfig.clickhouse.passwordFile!, prodConfig.redis.passwordFile!],
    'tf-tapfleet-ingest': ['/etc/tapfleet/nats-auth/ingest.creds', prodConfig.clickhouse.passwordFile!, prodConfig.redis.passwordFile!],
    'tf-tapfleet-assembler-p2': ['/etc/tapfleet/nats-auth/assembler.creds', prodConfig.clickhouse.passwordFile!],
    'tf-tapfleet-query': [prodConfig.clickhouse.passwordFile!, prodConfig.redis.passwordFile!],
    [AGENT]: [prodConfig.agent.trustedKeyFile!],
  };
  assert.equal(prodConfig.nats.authDir, '/etc/tapfleet/nats-auth');
  for (const [name, files] of Object.entries(needs)) {
    const w = production.find((m) => m.metadata.name === name && (m.kind === 'Deployment' || m.kind === 'DaemonSet'));
    assert.ok(w, name);
    const spec = podSpec(w);
    const c = spec.containers[0]!;
    const visible = (c.volumeMounts ?? []).flatMap((m) => {
      if (m.subPath) return [m.mountPath];
      const v = volume(spec, m.name);
      const items = v?.secret?.items ?? v?.configMap?.items;
      return items ? items.map((i) => `${m.mountPath}/${i.path}`) : [`${m.mountPath}/*`];
    });
    for (const f of files) assert.ok(visible.includes(f), `${name} sees ${f} (mounted: ${visible.join(', ')})`);
    assert.equal(c.env?.find((e) => e.name === 'TAPFLEET_CONFIG')?.value, '/etc/tapfleet/config/config.json');
    // Nobody else's NATS identity.
    const creds = visible.filter((f) => f.endsWith('.creds'));
    assert.ok(creds.length <= 1, `${name} holds one identity: ${creds.join(', ')}`);
  }
  // The control plane's key: copied by an init container from the Secret into <dataDir>/control-plane
  // (where it reads it, and writes its public half and admin token), a memory-backed volume.
  const cpSpec = podSpec(byName(production, 'Deployment', 'tf-tapfleet-control-plane'));
  const init = cpSpec.initContainers?.[0];
  assert.ok(init);
  assert.match((init.args ?? []).join(' '), /install -m 0600 \/etc\/tapfleet\/signing-key\/signing-key.pem \/var\/lib\/tapfleet\/control-plane\/signing-key.pem/);
  assert.deepEqual(init.volumeMounts?.map((m) => [m.name, m.mountPath]), [['signing-key', '/etc/tapfleet/signing-key'], ['data', prodConfig.dataDir]]);
  assert.ok(mount(cpSpec.containers[0]!, prodConfig.dataDir), 'the control plane sees the same data dir');
  assert.deepEqual(volume(cpSpec, 'data')?.emptyDir, { medium: 'Memory', sizeLimit: '16Mi' });
  assert.equal(volume(cpSpec, 'signing-key')?.secret?.secretName, 'tapfleet-signing-key');

  // The assembler partitions: one Deployment each, each with its own partition's file.
  const assemblers = production.filter((m) => m.kind === 'Deployment' && m.metadata.name.startsWith('tf-tapfleet-assembler-p'));
  assert.deepEqual(assemblers.map((m) => m.metadata.name).sort(), ['tf-tapfleet-assembler-p0', 'tf-tapfleet-assembler-p1', 'tf-tapfleet-assembler-p2']);
  for (const a of assemblers) {
    assert.equal(a.spec?.replicas, 1);
    const configVolume = volume(podSpec(a), 'config');
    assert.deepEqual(configVolume?.configMap?.items, [{ key: `${a.metadata.name.slice('tf-tapfleet-'.length)}.json`, path: 'config.json' }]);
  }
});

test('NetworkPolicies: each component admits its API or /metrics port only, the control plane its agents too, from the peers the values name', () => {
  const policies = (ms: Manifest[]) => ms.filter((m) => m.kind === 'NetworkPolicy');
  assert.deepEqual(policies(defaults).map((p) => p.metadata.name).sort(), ['agent', 'assembler', 'control-plane', 'ingest', 'query'].map((c) => `tf-tapfleet-${c}`));
  const spec = (m: Manifest) => m.spec as unknown as { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: { ports: { port: number }[]; from: unknown[] }[] };
  const cp = spec(byName(production, 'NetworkPolicy', 'tf-tapfleet-control-plane'));
  assert.deepEqual(cp.policyTypes, ['Ingress']);
  assert.equal(cp.podSelector.matchLabels['app.kubernetes.io/component'], 'control-plane');
  assert.deepEqual(cp.ingress.map((r) => r.ports.map((p) => p.port)), [[7700]]);
  assert.deepEqual(cp.ingress[0]?.from, [
    { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
    { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'tapfleet', 'app.kubernetes.io/instance': 'tf', 'app.kubernetes.io/component': 'agent' } } },
  ]);
  const ingest = spec(byName(production, 'NetworkPolicy', 'tf-tapfleet-ingest'));
  assert.deepEqual(ingest.ingress, [{ ports: [{ port: 9465, protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] }]);
  // Default: this namespace only.
  const query = spec(byName(defaults, 'NetworkPolicy', 'tf-tapfleet-query'));
  assert.deepEqual(query.ingress, [{ ports: [{ port: 7800, protocol: 'TCP' }], from: [{ podSelector: {} }] }]);
  assert.equal(policies(checkManifests(tools, renderChart(tools, [], ['networkPolicy.enabled=false']))).length, 0);
});
