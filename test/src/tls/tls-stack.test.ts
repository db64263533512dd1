import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod/v3';
import { ApiClient } from '@tapfleet/control-plane';
import { QueryClient } from '@tapfleet/query';
import { stackDown, stackUp, PRODUCT_SERVICES, SERVER_SERVICES } from '@tapfleet/stack';
import { HostView, EventsResponse, type TapfleetConfig } from '@tapfleet/schemas';
import { adminTokenPath, connectNats, createClickHouse, createRedis, DEFAULT_DATA_DIR, PROJECT_ROOT, serviceTrust } from '@tapfleet/runtime';
import { isolatedStackConfig, testLogger } from '../stack-harness.js';
import { eventually } from '../fleet/fleet-harness.js';
import { makeTestPki } from './test-ca.js';

/**
 * The whole local stack with TLS everywhere, on a CA this test makes: nats-server, clickhouse-server
 * and redis-server accept TLS only and require client certificates; the control plane and the query
 * service serve HTTPS. An event traced on this kernel travels agent -> NATS -> ingest -> ClickHouse
 * and is read back through the query API, all of it encrypted; every plain or wrongly trusting
 * client is refused.
 */
const BASE = 39800;
const log = testLogger('tls-stack');
const pkiDir = mkdtempSync(join(DEFAULT_DATA_DIR, 'test-pki-'));
const pki = makeTestPki(pkiDir);
const rogue = makeTestPki(pkiDir, 'rogue-ca');
const clientTls = { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile };
const serverTls = { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile };
const config = isolatedStackConfig(BASE, {
  stack: { tls: { ...serverTls, clientCaFile: pki.caFile } },
  nats: { tls: clientTls },
  clickhouse: { url: `https://127.0.0.1:${BASE + 3}`, tls: clientTls },
  redis: { url: `rediss://127.0.0.1:${BASE + 5}`, tls: clientTls },
  controlPlane: { url: `https://127.0.0.1:${BASE + 8}`, tls: serverTls, caFile: pki.caFile },
  query: { url: `https://127.0.0.1:${BASE + 12}`, tls: serverTls, caFile: pki.caFile },
});
const configFile = join(config.dataDir, 'tls-config.json');
const adminToken = () => readFileSync(adminTokenPath(config.dataDir), 'utf8').trim();
/** The same configuration with some client settings changed: how a misconfigured client looks. */
const variant = (patch: (c: TapfleetConfig) => TapfleetConfig) => patch(structuredClone(config));

before(async () => {
  writeFileSync(configFile, JSON.stringify(config));
  const reports = await stackUp(config, log, { install: false, only: [...SERVER_SERVICES, ...PRODUCT_SERVICES] });
  assert.deepEqual(reports.map((r) => r.state), reports.map(() => 'started'), JSON.stringify(reports));
});
after(async () => {
  await stackDown(config, log);
  if (!process.env.KEEP) {
    rmSync(config.dataDir, { recursive: true, force: true });
    rmSync(pkiDir, { recursive: true, force: true });
  }
});


test('over TLS only: an event traced here travels agent -> NATS -> ingest -> ClickHouse, deployed by the CLI and read back through the query API', async () => {
  const api = ApiClient.fromConfig({ ...config, controlPlane: { ...config.controlPlane, token: adminToken() } });
  await eventually('the local agent to enroll over HTTPS and say hello over TLS', async () => {
    const hosts = await api.call('GET', '/v1/hosts', z.array(HostView));
    return hosts.some((h) => h.live) ? hosts : undefined;
  }, 60_000);
  const script = join(config.dataDir, 'tls.tap');
  writeFileSync(script, 'probe tracepoint:syscalls:sys_enter_lseek /args.offset >= 7700000 && args.offset < 7700300/ { emit tls_seek { off: args.offset } }\n');
  const cli = (args: string[]) => spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), ...args, '--config', configFile], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TAPFLEET_LOG_LEVEL: 'warn' }, timeout: 120_000 });
  const deployed = cli(['deploy', script, '--select', 'stack=local', '--ttl', '5m']);
  assert.equal(deployed.status, 0, deployed.stderr + deployed.stdout);
  const id = /deployment (d-[0-9a-f]+)/.exec(deployed.stdout)?.[1];
  assert.ok(id, deployed.stdout);
  try {
    const workload = spawnSync('python3', ['-c', 'import os\nfd = os.open("/dev/null", os.O_RDONLY)\nfor i in range(300): os.lseek(fd, 7700000 + i, 0)\nprint(os.getpid())'], { encoding: 'utf8' });
    const pid = Number(workload.stdout.trim());
    assert.ok(pid > 0, workload.stderr);
    const ch = createClickHouse(config);
    try {
      const n = await eventually('the workload\'s 300 events in ClickHouse (read over HTTPS)', async () => {
        // ClickHouse 18.16 has no query parameters: the id matched /d-[0-9a-f]+/ and pid is a number.
        const rows = await (await ch.query({ query: `SELECT count() AS n, uniqExact(n0) AS offsets FROM ${config.clickhouse.database}.probe_events WHERE deployment = '${id}' AND pid = ${pid}`, format: 'JSONEachRow' })).json<{ n: string; offsets: string }>();
        return Number(rows[0]?.n) >= 300 ? rows[0] : undefined;
      }, 60_000);
      assert.deepEqual([Number(n.n), Number(n.offsets)], [300, 300], 'each lseek() of the workload exactly once, with its offset');
    } finally {
      await ch.close();
    }
    const history = await QueryClient.fromConfig(config, adminToken()).get('/v1/events', { deployment: id, from: String(Date.now() - 600_000), to: String(Date.now() + 60_000), event: 'tls_seek', limit: '5' }, EventsResponse);
    assert.equal(history.rows.length, 5, 'the query service answers over HTTPS');
    assert.ok(history.rows.every((r) => r.deployment === id && r.event === 'tls_seek'), JSON.stringify(history.rows[0]));
    const status = cli(['status', id]);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /running/);
  } finally {
    cli(['stop', id]);
  }
});

test('every plain or wrongly trusting client is refused, with an error that says so', async () => {
  const refused = async (what: string, attempt: () => Promise<unknown>, pattern: RegExp) => {
    await assert.rejects(attempt(), (e: Error) => {
      assert.match(e.message, pattern, `${what}: ${e.message}`);
      return true;
    }, what);
  };
  // The server requires TLS, so nats.js upgrades anyway; trusting only the system's CAs, it cannot verify ours.
  await refused('NATS without TLS settings', () => connectNats(variant((c) => ({ ...c, nats: { ...c.nats, tls: undefined } })), { name: 'plain', identity: 'admin', timeoutMs: 2000 }), /unable to verify|certificate/);
  await refused('NATS without a client certificate', async () => {
    const nc = await connectNats(variant((c) => ({ ...c, nats: { ...c.nats, tls: { caFile: pki.caFile } } })), { name: 'no-cert', identity: 'admin', timeoutMs: 2000 });
    await nc.flush();
    await nc.close();
  }, /certificate|tls|closed|handshake|alert|timeout/i); // nats-server closes the handshake; nats.js reports it as a timeout
  await refused('NATS trusting another CA', () => connectNats(variant((c) => ({ ...c, nats: { ...c.nats, tls: { ...clientTls, caFile: rogue.caFile } } })), { name: 'rogue', identity: 'admin', timeoutMs: 2000 }), /certificate|verify|self.signed/i);
  const chQuery = async (c: TapfleetConfig) => {
    const ch = createClickHouse(c, { requestTimeoutMs: 3000 });
    try {
      await ch.query({ query: 'SELECT 1', format: 'JSONEachRow' });
    } finally {
      await ch.close();
    }
  };
  await refused('ClickHouse over plain HTTP', () => chQuery(variant((c) => ({ ...c, clickhouse: { ...c.clickhouse, url: `http://127.0.0.1:${BASE + 3}`, tls: undefined } }))), /socket hang up|ECONNRESET|closed|parse|Bad Request|HTTP/i);
  await refused('ClickHouse trusting another CA', () => chQuery(variant((c) => ({ ...c, clickhouse: { ...c.clickhouse, tls: { ...clientTls, caFile: rogue.caFile } } }))), /certificate|verify|self.signed/i);
  await refused('ClickHouse without a client certificate', () => chQuery(variant((c) => ({ ...c, clickhouse: { ...c.clickhouse, tls: { caFile: pki.caFile } } }))), /certificate|handshake|alert|socket hang up|ECONNRESET/i);
  const redisPing = async (c: TapfleetConfig) => {
    const r = createRedis(c, { failFast: true, connectTimeoutMs: 2000 });
    r.on('error', () => {});
    try {
      await r.connect();
      await r.ping();
    } finally {
      r.disconnect();
    }
  };
  await refused('Redis without TLS', () => redisPing(variant((c) => ({ ...c, redis: { ...c.redis, url: `redis://127.0.0.1:${BASE + 5}`, tls: undefined } }))), /closed|ECONNRESET|Connection|timeout/i);
  await refused('Redis trusting another CA', () => redisPing(variant((c) => ({ ...c, redis: { ...c.redis, tls: { ...clientTls, caFile: rogue.caFile } } }))), /certificate|verify|self.signed|closed/i);
  const cpCall = (trust: ReturnType<typeof serviceTrust>, url = config.controlPlane.url) => new ApiClient(url, adminToken(), trust).call('GET', '/v1/hosts', z.array(HostView));
  await refused('control plane over plain HTTP', () => cpCall(undefined, `http://127.0.0.1:${BASE + 8}`), /cannot reach the control plane.*(socket hang up|ECONNRESET|closed)/);
  await refused('control plane trusting only the system CAs', () => cpCall(undefined), /cannot reach the control plane.*(certificate|self.signed|verify)/i);
  await refused('control plane trusting another CA', () => cpCall(serviceTrust(rogue.caFile, 'control plane')), /cannot reach the control plane.*(certificate|self.signed|verify)/i);
  // The right CA works: the refusals above are about trust, not a dead server.
  assert.ok(Array.isArray(await cpCall(serviceTrust(pki.caFile, 'control plane'))));
});
