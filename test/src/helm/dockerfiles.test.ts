import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { ensureHelmTools, type HelmTools } from '@tapfleet/stack';
import { run } from './chart-render.js';

/**
 * The images' Dockerfiles, checked without building them (no registry to pull base images from
 * here): BuildKit's linter passes them, and they build what the chart runs.
 */
const SERVICES_DOCKERFILE = join(PROJECT_ROOT, 'docker', 'tapfleet.Dockerfile');
const AGENT_DOCKERFILE = join(PROJECT_ROOT, 'docker', 'agent.Dockerfile');

let tools: HelmTools;
before(async () => {
  tools = await ensureHelmTools();
});

test('BuildKit\'s Dockerfile linter (the rules of docker build --check) finds nothing in either Dockerfile, and does find a fault', () => {
  const r = run(tools.dockerfileCheck, [SERVICES_DOCKERFILE, AGENT_DOCKERFILE]);
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), 'tapfleet-dockerfile-'));
  const bad = join(dir, 'Dockerfile');
  writeFileSync(bad, readFileSync(AGENT_DOCKERFILE, 'utf8').replace('ENTRYPOINT ["node", "/app/bin/tapfleet.js"]', 'ENTRYPOINT node /app/bin/tapfleet.js'));
  const refused = run(tools.dockerfileCheck, [bad]);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(refused.status, 1);
  assert.match(refused.stdout, /JSONArgsRecommended/);
});

test('the images are multi-stage, non-root where they can be, and hold what the chart runs', () => {
  const services = readFileSync(SERVICES_DOCKERFILE, 'utf8');
  const agent = readFileSync(AGENT_DOCKERFILE, 'utf8');
  for (const d of [services, agent]) {
    assert.ok((d.match(/^FROM /gm) ?? []).length >= 3, 'a build stage, a production-dependencies stage and a runtime stage');
    assert.match(d, /npm ci --omit=dev/);
    assert.match(d, /^ENTRYPOINT \["node", "\/app\/bin\/tapfleet.js"\]$/m, 'the chart passes the command as args');
  }
  assert.match(services, /^USER 10001:10001$/m, 'the services run as the uid the chart sets');
  assert.match(services, /apt-get install -y --no-install-recommends clang llvm libbpf-dev/m, 'the control plane compiles bundles with clang');
  // The runner, built in its own stage with the Makefile `tapfleet setup` uses, where the agent looks for it.
  assert.match(agent, /^FROM \$\{DEBIAN_IMAGE\} AS runner$/m);
  assert.match(agent, /^RUN make -s$/m);
  assert.match(agent, /COPY --from=runner \/src\/agents\/runner\/build\/tapfleet-runner \/src\/agents\/runner\/build\/tapfleet-clock-status \/app\/agents\/runner\/build\//);
  assert.doesNotMatch(agent, /^USER /m, 'the agent is root (for its capabilities), not privileged');
});

test('both images build their Node part with the same stages, so they cannot drift apart (and share one layer cache)', () => {
  const nodeStages = (d: string) => d.slice(d.indexOf('# --- TypeScript'), d.indexOf('# --- Runtime'));
  const services = nodeStages(readFileSync(SERVICES_DOCKERFILE, 'utf8'));
  assert.ok(services.length > 500);
  assert.equal(nodeStages(readFileSync(AGENT_DOCKERFILE, 'utf8')), services);
  // The test workspace's tools (chdb and its 540 MB library, playwright) are not in the images.
  assert.match(services, /rm -rf node_modules\/chdb node_modules\/@chdb node_modules\/playwright-core node_modules\/@tapfleet\/test test/);
});

test('the images build every workspace the tapfleet command composes: its package.json for npm ci, its dist in the image', () => {
  const workspaces = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces.filter((w) => w !== 'test');
  const services = readFileSync(SERVICES_DOCKERFILE, 'utf8');
  const distLoop = /for ws in ([^;]+); do/.exec(services.replace(/\\\n\s*/g, ''))?.[1]?.trim().split(/\s+/) ?? [];
  assert.deepEqual([...distLoop].sort(), [...workspaces].sort(), 'the workspaces whose dist the images copy');
  for (const ws of workspaces) assert.ok(services.includes(`COPY ${ws}/package.json ${ws}/\n`), `${ws}/package.json is copied before npm ci`);
});
