import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { kubeconformSchemaLocation, type HelmTools } from '@tapfleet/stack';

/** Renders and validates helm/tapfleet with the tools `tapfleet setup` built (ensureHelmTools). */

export const CHART_DIR = join(PROJECT_ROOT, 'helm', 'tapfleet');
export const PRODUCTION_VALUES = join(CHART_DIR, 'ci', 'production-values.yaml');

// helm keeps caches and repositories under $HOME by default: a private, empty home per run.
const helmHome = mkdtempSync(join(tmpdir(), 'tapfleet-helm-'));
process.on('exit', () => rmSync(helmHome, { recursive: true, force: true }));
const HELM_ENV = { ...process.env, HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_DATA_HOME: join(helmHome, 'data') };

export interface ToolRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(binary: string, args: string[], input?: string): ToolRun {
  const r = spawnSync(binary, args, { input, encoding: 'utf8', env: HELM_ENV, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` of the chart with these values files and --set pairs; throws with helm's words on failure. */
export function renderChart(tools: HelmTools, valuesFiles: string[] = [], set: string[] = []): string {
  const args = ['template', 'tf', CHART_DIR, '--namespace', 'tracing', ...valuesFiles.flatMap((f) => ['-f', f]), ...set.flatMap((s) => ['--set', s])];
  const r = run(tools.helm, args);
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

export function kubeconform(tools: HelmTools, manifests: string): ToolRun {
  return run(tools.kubeconform, ['-strict', '-summary', '-schema-location', kubeconformSchemaLocation(tools.schemaDir), '-'], manifests);
}

// --- The rendered objects, as far as the tests read them (manifest-check decoded them strictly first) ---

const EnvVar = z.looseObject({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z.looseObject({ secretKeyRef: z.looseObject({ name: z.string(), key: z.string() }).optional(), fieldRef: z.looseObject({ fieldPath: z.string() }).optional() }).optional(),
});
const Probe = z.looseObject({ httpGet: z.looseObject({ path: z.string(), port: z.union([z.string(), z.number()]), scheme: z.string().optional() }).optional() });
const SecurityContext = z.looseObject({
  privileged: z.boolean().optional(),
  allowPrivilegeEscalation: z.boolean().optional(),
  readOnlyRootFilesystem: z.boolean().optional(),
  runAsNonRoot: z.boolean().optional(),
  runAsUser: z.number().optional(),
  capabilities: z.looseObject({ add: z.array(z.string()).optional(), drop: z.array(z.string()).optional() }).optional(),
});
export const Container = z.looseObject({
  name: z.string(),
  image: z.string(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(EnvVar).optional(),
  ports: z.array(z.looseObject({ name: z.string().optional(), containerPort: z.number() })).optional(),
  livenessProbe: Probe.optional(),
  readinessProbe: Probe.optional(),
  resources: z.looseObject({ requests: z.record(z.string(), z.union([z.string(), z.number()])).optional(), limits: z.record(z.string(), z.union([z.string(), z.number()])).optional() }).optional(),
  securityContext: SecurityContext.optional(),
  volumeMounts: z.array(z.looseObject({ name: z.string(), mountPath: z.string(), readOnly: z.boolean().optional(), subPath: z.string().optional() })).optional(),
});
export type Container = z.infer<typeof Container>;
export const Volume = z.looseObject({
  name: z.string(),
  hostPath: z.looseObject({ path: z.string(), type: z.string().optional() }).optional(),
  secret: z.looseObject({ secretName: z.string(), items: z.array(z.looseObject({ key: z.string(), path: z.string() })).optional() }).optional(),
  configMap: z.looseObject({ name: z.string(), items: z.array(z.looseObject({ key: z.string(), path: z.string() })).optional() }).optional(),
  emptyDir: z.looseObject({}).optional(),
});
export type Volume = z.infer<typeof Volume>;
export const PodSpec = z.looseObject({
  hostPID: z.boolean().optional(),
  hostNetwork: z.boolean().optional(),
  hostIPC: z.boolean().optional(),
  securityContext: SecurityContext.optional(),
  containers: z.array(Container),
  initContainers: z.array(Container).optional(),
  volumes: z.array(Volume).optional(),
});
export type PodSpec = z.infer<typeof PodSpec>;
export const Manifest = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({ name: z.string(), labels: z.record(z.string(), z.string()).optional(), annotations: z.record(z.string(), z.string()).optional() }),
  data: z.record(z.string(), z.string()).optional(),
  spec: z.looseObject({
    replicas: z.number().optional(),
    template: z.looseObject({ metadata: z.looseObject({ annotations: z.record(z.string(), z.string()).optional(), labels: z.record(z.string(), z.string()).optional() }), spec: PodSpec }).optional(),
  }).optional(),
});
export type Manifest = z.infer<typeof Manifest>;

/**
 * Decodes rendered manifests strictly into k8s.io/api's types (manifest-check) and returns them;
 * throws with every document that failed.
 */
export function checkManifests(tools: HelmTools, manifests: string): Manifest[] {
  const r = run(tools.manifestCheck, [], manifests);
  if (r.status !== 0) throw new Error(`manifest-check refused the manifests:\n${r.stderr}`);
  return z.array(Manifest).parse(JSON.parse(r.stdout));
}

export const WORKLOAD_KINDS = ['Deployment', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob'];
export const workloads = (ms: Manifest[]): Manifest[] => ms.filter((m) => WORKLOAD_KINDS.includes(m.kind));
export const podSpec = (m: Manifest): PodSpec => {
  const spec = m.spec?.template?.spec;
  if (!spec) throw new Error(`${m.kind} ${m.metadata.name} has no pod template`);
  return spec;
};
export function byName(ms: Manifest[], kind: string, name: string): Manifest {
  const m = ms.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) throw new Error(`no ${kind} ${name} among ${ms.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return m;
}
