import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { z } from 'zod/v3';
import { ApiClient, adminTokenPath } from '@tapfleet/control-plane';
import { processStartTime, stackDown, stackStatus, stackUp, PRODUCT_SERVICES, SERVER_SERVICES } from '@tapfleet/stack';
import { HostView } from '@tapfleet/schemas';
import { readFileSync } from 'node:fs';
import { isolatedStackConfig, testLogger } from '../stack-harness.js';

const log = testLogger('product-stack');
const config = isolatedStackConfig(31000);
after(async () => {
  await stackDown(config, log);
  if (!process.env.KEEP) rmSync(config.dataDir, { recursive: true, force: true });
});

test('stack up --with product: servers, then control plane, ingest, assembler, the query service and a local agent; status lists them; down stops all', async () => {
  const reports = await stackUp(config, log, { install: false, only: [...SERVER_SERVICES, ...PRODUCT_SERVICES] });
  assert.deepEqual(reports.map((r) => [r.name, r.state]), [['nats', 'started'], ['clickhouse', 'started'], ['redis', 'started'], ['control-plane', 'started'], ['ingest', 'started'], ['assembler', 'started'], ['query', 'started'], ['agent', 'started']]);
  const api = new ApiClient(config.controlPlane.url, readFileSync(adminTokenPath(config.dataDir), 'utf8').trim());
  const hosts = await (async () => {
    for (let i = 0; i < 100; i++) {
      const h = await api.call('GET', '/v1/hosts', z.array(HostView));
      if (h.length) return h;
      await new Promise((r) => setTimeout(r, 100));
    }
    return [];
  })();
  assert.deepEqual(hosts.map((h) => [h.labels, h.live]), [[{ stack: 'local' }, true]], 'the local agent says hello with stack=local');
  // The query service checks the control plane's tokens (one store in Redis): the admin token reads history.
  const history = await fetch(`${config.query.url}/v1/hops?deployment=d-none000001&from=0&to=60000`, { headers: { authorization: `Bearer ${readFileSync(adminTokenPath(config.dataDir), 'utf8').trim()}` } });
  assert.equal(history.status, 200, await history.clone().text());
  assert.deepEqual(await history.json(), { deployment: 'd-none000001', fromNs: '0', toNs: '60000000000', hops: [] });
  const status = await stackStatus(config);
  assert.deepEqual(status.map((r) => [r.name, r.state]), reports.map((r) => [r.name, 'running']));
  const pids = reports.map((r) => r.pid!);
  const down = await stackDown(config, log);
  assert.equal(down.filter((r) => r.pid).length, 8);
  for (const pid of pids) assert.equal(processStartTime(pid), undefined, `pid ${pid} is gone`);
});
