import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { adminTokenPath } from '@tapfleet/control-plane';
import { createRedis, type Redis } from '@tapfleet/runtime';
import { eventually, FleetStack } from './fleet-harness.js';

/**
 * Review finding: the control plane skips a deployment record that is not JSON or fails its
 * schema, but not one stored as the wrong kind of Redis value (a hash where a string belongs):
 * then GET /v1/deployments answers 500 (WRONGTYPE) and the expiry sweep logs
 * "expiry sweep failed" every 2 s, so no deployment expires from the control plane's side:
 * the same brick issue 9 section 2 fixed for unparseable JSON.
 */
describe('a deployment record of the wrong Redis kind is skipped like any unreadable record', () => {
  const stack = new FleetStack(37000, 37010);
  const url = stack.config.controlPlane.url;
  let redis: Redis;
  const get = async (path: string) => {
    const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${readFileSync(adminTokenPath(stack.config.dataDir), 'utf8').trim()}` } });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };

  before(async () => {
    await stack.up();
    redis = createRedis(stack.config);
    await redis.connect();
    await stack.startControlPlane();
  });

  after(async () => {
    redis?.disconnect();
    await stack.cleanup();
  });

  test('GET /v1/deployments answers 200 and names the record it skipped', async () => {
    await redis.multi().hset('tf:deployment:d-wrongkind01', 'x', 'y').zadd('tf:deployments', Date.now(), 'd-wrongkind01').exec();
    const list = await eventually('the deployments list to answer', async () => (await get('/v1/deployments')), 5_000);
    assert.equal(list.status, 200, list.text);
    assert.match(list.headers.get('tapfleet-skipped-records') ?? '', /tf:deployment:d-wrongkind01/);
    // One unreadable record answers like the other unreadable ones (corrupt_record naming the key), not internal.
    const one = await get('/v1/deployments/d-wrongkind01');
    assert.match(one.text, /corrupt_record.*tf:deployment:d-wrongkind01/, one.text);
  });
});
