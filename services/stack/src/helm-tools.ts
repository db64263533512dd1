import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DATA_DIR, PROJECT_ROOT, type Logger } from '@tapfleet/runtime';
import { buildGoBinary, GoBuildError, requireGo, runGo } from './go-build.js';
import { writeKubeconformSchemas } from './kubernetes-schemas.js';

/**
 * The chart's tools, built once by `tapfleet setup` from the Go module proxy like Jaeger:
 * helm and kubeconform (pinned as `tool`s by services/stack/helm-tools/go.mod and go.sum),
 * manifest-check (the same module: rendered manifests decoded strictly into k8s.io/api's
 * types), and the Kubernetes JSON schemas kubeconform validates against, derived from the
 * OpenAPI document of the k8s.io/kubernetes module (verified against its go.sum hash); and
 * dockerfile-check (services/stack/dockerfile-check: BuildKit's Dockerfile linter, offline) for
 * the images' Dockerfiles, which cannot be built here (no registry to pull base images from).
 */
export const HELM_VERSION = 'v3.22.0';
export const KUBECONFORM_VERSION = 'v0.8.0';
/**
 * The Kubernetes release the schemas come from; helm v3.22.0 is built on client-go v0.37, so its
 * default (`helm template`, `helm lint`) is Kubernetes 1.37, set below as its own Makefile does.
 */
export const KUBERNETES_VERSION = 'v1.37.2';
const KUBERNETES_MINOR = '37';
/** `go mod download -json k8s.io/kubernetes@v1.37.2`'s Sum (the checksum database's, too). */
const KUBERNETES_MODULE_SUM = 'h1:A2VDEiObzkYqFTKhSsn0ZEb0RlLEXpHWj93gi2HqEwE=';

const MODULE_DIR = join(PROJECT_ROOT, 'services', 'stack', 'helm-tools');
/** Its own module: BuildKit's dependencies stay out of helm's pinned set. */
const DOCKERFILE_CHECK_DIR = join(PROJECT_ROOT, 'services', 'stack', 'dockerfile-check');

export interface HelmTools {
  helm: string;
  kubeconform: string;
  manifestCheck: string;
  /** kubeconform's schema directory (see kubeconformSchemaLocation). */
  schemaDir: string;
  dockerfileCheck: string;
}

/** This repository's Go programs are named by their source and pins, so an edit rebuilds them. */
function sourceDigest(dir: string, files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(join(dir, f)));
  return h.digest('hex').slice(0, 12);
}

/** Where the tools live: shared by every checkout's stacks and tests, named by version. */
export function helmToolPaths(): HelmTools {
  const dir = join(DEFAULT_DATA_DIR, 'helm');
  return {
    helm: join(dir, `helm-${HELM_VERSION}`),
    kubeconform: join(dir, `kubeconform-${KUBECONFORM_VERSION}`),
    manifestCheck: join(dir, `manifest-check-${sourceDigest(MODULE_DIR, ['go.mod', 'go.sum', join('manifest-check', 'main.go')])}`),
    schemaDir: join(dir, `kubernetes-json-schema-${KUBERNETES_VERSION}-strict`),
    dockerfileCheck: join(dir, `dockerfile-check-${sourceDigest(DOCKERFILE_CHECK_DIR, ['go.mod', 'go.sum', 'main.go'])}`),
  };
}

const HELM_LDFLAGS = [
  `-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`,
  '-X helm.sh/helm/v3/internal/version.metadata=',
  ...['pkg/lint/rules', 'pkg/chartutil'].flatMap((p) => [`-X helm.sh/helm/v3/${p}.k8sVersionMajor=1`, `-X helm.sh/helm/v3/${p}.k8sVersionMinor=${KUBERNETES_MINOR}`]),
].join(' ');

/** The k8s.io/kubernetes module's swagger.json, downloaded through the Go proxy and hash-checked. */
async function kubernetesOpenApi(): Promise<string> {
  const out = await runGo(['mod', 'download', '-json', `k8s.io/kubernetes@${KUBERNETES_VERSION}`], MODULE_DIR, `fetching the Kubernetes ${KUBERNETES_VERSION} OpenAPI`);
  const info = JSON.parse(out) as { Dir?: unknown; Sum?: unknown; Error?: unknown };
  if (typeof info.Error === 'string') throw new GoBuildError('BUILD_FAILED', `fetching k8s.io/kubernetes@${KUBERNETES_VERSION}: ${info.Error}`);
  if (info.Sum !== KUBERNETES_MODULE_SUM || typeof info.Dir !== 'string')
    throw new GoBuildError('CHECKSUM_MISMATCH', `k8s.io/kubernetes@${KUBERNETES_VERSION} has checksum ${String(info.Sum)}, expected ${KUBERNETES_MODULE_SUM}`);
  return join(info.Dir, 'api', 'openapi-spec', 'swagger.json');
}

export interface EnsureHelmToolsOptions {
  /** Where the progress lines go (default: stderr, beside setup's other "setup: ..." lines). */
  progress?: (line: string) => void;
}

/** Builds whatever of the tools is missing (a few minutes the first time); a no-op after. */
export async function ensureHelmTools(log?: Logger, options: EnsureHelmToolsOptions = {}): Promise<HelmTools> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const tools = helmToolPaths();
  if (Object.values(tools).every((p) => existsSync(p))) return tools;
  const go = requireGo(`helm ${HELM_VERSION} and kubeconform ${KUBECONFORM_VERSION}, the chart tests' tools,`);
  const started = Date.now();
  progress(`setup: building the Helm chart's tools with Go (first time only, a few minutes; ${go})`);
  const builds = [
    { pkg: 'helm.sh/helm/v3/cmd/helm', binary: tools.helm, ldflags: HELM_LDFLAGS, what: `helm ${HELM_VERSION}` },
    { pkg: 'github.com/yannh/kubeconform/cmd/kubeconform', binary: tools.kubeconform, what: `kubeconform ${KUBECONFORM_VERSION}` },
    { pkg: './manifest-check', binary: tools.manifestCheck, what: 'manifest-check' },
  ];
  for (const b of builds) await buildGoBinary({ moduleDir: MODULE_DIR, ...b });
  await buildGoBinary({ moduleDir: DOCKERFILE_CHECK_DIR, pkg: '.', binary: tools.dockerfileCheck, what: 'dockerfile-check' });
  if (!existsSync(tools.schemaDir)) {
    const kinds = writeKubeconformSchemas(await kubernetesOpenApi(), tools.schemaDir);
    log?.info({ dir: tools.schemaDir, kinds }, 'wrote Kubernetes JSON schemas');
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  progress(`setup: built helm ${HELM_VERSION}, kubeconform ${KUBECONFORM_VERSION}, manifest-check, dockerfile-check and the Kubernetes ${KUBERNETES_VERSION} schemas in ${seconds} s`);
  log?.info({ ...tools, seconds }, 'built the Helm chart tools');
  return tools;
}
