import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureHelmTools, KUBERNETES_VERSION, type HelmTools } from '@tapfleet/stack';
import { CHART_DIR, checkManifests, kubeconform, PRODUCTION_VALUES, renderChart, run } from './chart-render.js';

let tools: HelmTools;
before(async () => {
  // Built by `tapfleet setup`; a no-op then (a build from the module cache otherwise).
  tools = await ensureHelmTools();
});

const VALUES = [
  { name: 'default values', files: [] },
  { name: 'production values', files: [PRODUCTION_VALUES] },
];

for (const v of VALUES) {
  test(`helm lint --strict passes with the ${v.name}`, () => {
    const r = run(tools.helm, ['lint', '--strict', CHART_DIR, ...v.files.flatMap((f) => ['-f', f])]);
    assert.equal(r.status, 0, `helm lint:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  test(`the chart rendered with the ${v.name} is valid Kubernetes ${KUBERNETES_VERSION}: kubeconform -strict and a strict decode into k8s.io/api`, () => {
    const manifests = renderChart(tools, v.files);
    const r = kubeconform(tools, manifests);
    assert.equal(r.status, 0, `kubeconform:\n${r.stdout}\n${r.stderr}`);
    const summary = /(\d+) resources found parsing stdin - Valid: (\d+), Invalid: 0, Errors: 0, Skipped: 0/.exec(r.stdout);
    assert.ok(summary, `kubeconform summary: ${r.stdout}`);
    assert.equal(summary[1], summary[2], 'every resource validated, none skipped for want of a schema');
    const decoded = checkManifests(tools, manifests);
    assert.equal(decoded.length, Number(summary[1]), 'both validators saw the same documents');
    assert.ok(decoded.length >= 12, `${decoded.length} objects rendered`);
  });
}

test('the validators are not vacuous: a misspelt field, a string for a number and a missing name are refused by both', () => {
  const good = renderChart(tools);
  const broken = good
    .replace('readOnlyRootFilesystem: true', 'readOnlyRootFilesytem: true') // unknown field (strict)
    .replace(/replicas: 2/, 'replicas: "two"') // wrong type
    .replace(/- name: control-plane\n\s+image:/, '- image:'); // a container without its required name
  assert.notEqual(broken, good);
  const r = kubeconform(tools, broken);
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stdout, /additional properties 'readOnlyRootFilesytem' not allowed/);
  assert.match(r.stdout, /got string, want integer/);
  assert.match(r.stdout, /missing property 'name'/);
  assert.throws(() => checkManifests(tools, broken), /readOnlyRootFilesytem|cannot unmarshal string into Go struct field .*replicas/);
  // An unknown field alone (no type error to stop the decode first) is refused by the strict decode too.
  assert.throws(() => checkManifests(tools, good.replace('readOnlyRootFilesystem: true', 'readOnlyRootFilesytem: true')), /unknown field "spec.template.spec.containers\[0\].securityContext.readOnlyRootFilesytem"/);
});

test('helm refuses TLS turned on without the Secret that holds its certificates', () => {
  assert.throws(() => renderChart(tools, [], ['nats.tls.enabled=true']), /the existingSecret of nats TLS is required when it is enabled/);
});

test('values.schema.json refuses a misspelt value, SYS_ADMIN by the back door and an assembler partition count the service refuses', () => {
  assert.throws(() => renderChart(tools, [], ['agent.sysAdmn=true']), /at '\/agent': additional properties 'sysAdmn' not allowed/);
  assert.throws(() => renderChart(tools, [], ['agent.extraCapabilities[0]=SYS_ADMIN']), /at '\/agent\/extraCapabilities\/0': 'not' failed/);
  assert.throws(() => renderChart(tools, [], ['assembler.partitions=9']), /at '\/assembler\/partitions': maximum: got 9, want 8/);
  assert.throws(() => renderChart(tools, [], ['nats.urls[0]=tls://nats:4222']), /at '\/nats\/urls\/0'/);
});
