import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod/v3';
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

const EnvVar = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z.object({ secretKeyRef: z.object({ name: z.string(), key: z.string() }).passthrough().optional(), fieldRef: z.object({ fieldPath: z.string() }).passthrough().optional() }).passthrough().optional(),
}).passthrough();
const Probe = z.object({ httpGet: z.object({ path: z.string(), port: z.union([z.string(), z.number().finite()]), scheme: z.string().optional() }).passthrough().optional() }).passthrough();
const SecurityContext = z.object({
  privileged: z.boolean().optional(),
  allowPrivilegeEscalation: z.boolean().optional(),
  readOnlyRootFilesystem: z.boolean().optional(),
  runAsNonRoot: z.boolean().optional(),
  runAsUser: z.number().finite().optional(),
  capabilities: z.object({ add: z.array(z.string()).optional(), drop: z.array(z.string()).optional() }).passthrough().optional(),
}).passthrough();
export const Container = z.object({
  name: z.string(),
  image: z.string(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(EnvVar).optional(),
  ports: z.array(z.object({ name: z.string().optional(), containerPort: z.number().finite() }).passthrough()).optional(),
  livenessProbe: Probe.optional(),
  readinessProbe: Probe.optional(),
  resources: z.object({ requests: z.record(z.string(), z.union([z.string(), z.number().finite()])).optional(), limits: z.record(z.string(), z.union([z.string(), z.number().finite()])).optional() }).passthrough().optional(),
  securityContext: SecurityContext.optional(),
  volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string(), readOnly: z.boolean().optional(), subPath: z.string().optional() }).passthrough()).optional(),
}).passthrough();
export type Container = z.infer<typeof Container>;
export const Volume = z.object({
  name: z.string(),
  hostPath: z.object({ path: z.string(), type: z.string().optional() }).passthrough().optional(),
  secret: z.object({ secretName: z.string(), items: z.array(z.object({ key: z.string(), path: z.string() }).passthrough()).optional() }).passthrough().optional(),
  configMap: z.object({ name: z.string(), items: z.array(z.object({ key: z.string(), path: z.string() }).passthrough()).optional() }).passthrough().optional(),
  emptyDir: z.object({}).passthrough().optional(),
}).passthrough();
export type Volume = z.infer<typeof Volume>;
export const PodSpec = z.object({
  hostPID: z.boolean().optional(),
  hostNetwork: z.boolean().optional(),
  hostIPC: z.boolean().optional(),
  securityContext: SecurityContext.optional(),
  containers: z.array(Container),
  initContainers: z.array(Container).optional(),
  volumes: z.array(Volume).optional(),
}).passthrough();
export type PodSpec = z.infer<typeof PodSpec>;
type Labels = Record<string, string>;
/** A rendered object as the tests read it (written out: zod 3 cannot name the inferred type, it is too long). */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Labels; annotations?: Labels; [k: string]: unknown };
  data?: Labels;
  spec?: { replicas?: number; template?: { metadata: { annotations?: Labels; labels?: Labels; [k: string]: unknown }; spec: PodSpec; [k: string]: unknown }; [k: string]: unknown };
  [k: string]: unknown;
}
const Manifest: z.ZodType<Manifest, z.ZodTypeDef, unknown> = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.object({ name: z.string(), labels: z.record(z.string(), z.string()).optional(), annotations: z.record(z.string(), z.string()).optional() }).passthrough(),
  data: z.record(z.string(), z.string()).optional(),
  spec: z.object({
    replicas: z.number().finite().optional(),
    template: z.object({ metadata: z.object({ annotations: z.record(z.string(), z.string()).optional(), labels: z.record(z.string(), z.string()).optional() }).passthrough(), spec: PodSpec }).passthrough().optional(),
  }).passthrough().optional(),
}).passthrough();

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
