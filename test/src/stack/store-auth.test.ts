import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import {
  clickhouseClientConfigFile, clickhousePassword, clickhousePasswordFile, createClickHouse, createRedis, loadConfig, redisPassword, redisPasswordFile, stackAuthDir,
} from '@tapfleet/runtime';
import { readPidFile, serviceDirs, stackServices } from '@tapfleet/stack';

/**
 * The stores of the stack this test run uses (scripts/test.sh starts it) refuse clients
 * without the stack's passwords: Redis holds the API tokens (an admin record written by any
 * local user would be an admin), ClickHouse every traced event.
 */
const config = loadConfig();
const mode = (path: string) => statSync(path).mode & 0o777;

describe('store authentication on the test run\'s stack', () => {
  test('Redis: a client built from redis.url alone is refused (NOAUTH) and cannot mint an admin token record', async () => {
    // No ready check: it would send INFO first, be refused (NOAUTH) and close the connection,
    // so the SET below would fail for a reason of the client's, not the server's refusal.
    const anonymous = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, enableReadyCheck: false });
    anonymous.on('error', () => {});
    try {
      await anonymous.connect();
      await assert.rejects(anonymous.set(`tf:token:${'ab'.repeat(32)}`, '{"name":"evil","role":"admin","createdAtMs":1700000000000}'), /NOAUTH/);
      await assert.rejects(anonymous.auth('not-the-password'), /WRONGPASS/);
    } finally {
      anonymous.disconnect();
    }
    const redis = createRedis(config, { failFast: true });
    try {
      await redis.connect();
      assert.equal(await redis.exists(`tf:token:${'ab'.repeat(32)}`), 0, 'the anonymous write did not land');
      assert.equal(await redis.ping(), 'PONG', 'the factory sends the stack\'s password');
    } finally {
      redis.disconnect();
    }
  });

  test('ClickHouse: an unauthenticated query is refused over HTTP and over the native protocol; the factory is let in', async () => {
    const url = new URL(config.clickhouse.url);
    url.searchParams.set('query', 'SELECT 1');
    const bare = await fetch(url);
    assert.notEqual(bare.status, 200);
    assert.match(await bare.text(), /Password required for user default|Authentication failed|password is incorrect/);
    const wrong = await fetch(url, { headers: { 'X-ClickHouse-User': 'default', 'X-ClickHouse-Key': 'not-the-password' } });
    assert.notEqual(wrong.status, 200);
    assert.match(await wrong.text(), /Authentication failed|password is incorrect|Wrong password/i);

    const cli = spawnSync('clickhouse-client', ['--host', url.hostname, '--port', String(config.clickhouse.tcpPort), '--query', 'SELECT 1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.notEqual(cli.status, 0);
    assert.match(cli.stderr, /Password required|Authentication failed|password is incorrect/);

    const version = execFileSync('clickhouse-client', ['--config-file', clickhouseClientConfigFile(config), '--host', url.hostname, '--port', String(config.clickhouse.tcpPort), '--query', 'SELECT 1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(version.trim(), '1', 'clickhouse-client with the 0600 client config file is let in');

    const ch = createClickHouse(config, { database: 'default' });
    try {
      const rows = await (await ch.query({ query: 'SELECT 1 AS ok', format: 'JSONEachRow' })).json<{ ok: number }>();
      assert.deepEqual(rows, [{ ok: 1 }]);
    } finally {
      await ch.close();
    }
  });

  test('the passwords live in 0600 files in a 0700 directory, never on redis-server\'s command line or in users.xml', () => {
    assert.equal(mode(stackAuthDir(config)), 0o700);
    for (const f of [redisPasswordFile(config), clickhousePasswordFile(config), clickhouseClientConfigFile(config)]) assert.equal(mode(f), 0o600, f);
    const redisPw = redisPassword(config)!;
    const chPw = clickhousePassword(config)!;
    assert.match(redisPw, /^[0-9a-f]{64}$/);
    assert.match(chPw, /^[0-9a-f]{64}$/);
    assert.notEqual(redisPw, chPw);

    const rec = readPidFile(serviceDirs(config, 'redis').pidFile);
    assert.ok(rec, 'the test run\'s stack started redis-server');
    const cmdline = readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8');
    assert.ok(cmdline.includes('redis-server'), cmdline);
    assert.ok(!cmdline.includes(redisPw), 'the password is not in argv (ps shows argv to every user)');
    assert.equal(mode(join(serviceDirs(config, 'redis').root, 'auth.conf')), 0o600);
    // The stores' own files (Redis's append-only file, ClickHouse's tables) are for their owner only.
    for (const name of ['redis', 'clickhouse']) assert.equal(mode(serviceDirs(config, name).root), 0o700, name);

    const users = join(serviceDirs(config, 'clickhouse').root, 'users.xml');
    assert.equal(mode(users), 0o600);
    assert.ok(!readFileSync(users, 'utf8').includes(chPw), 'users.xml holds the SHA-256, not the password');
  });
});

describe('store passwords: configuration', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tf-store-auth-'));
  const base = { dataDir, redis: { url: 'redis://127.0.0.1:1' }, clickhouse: { url: 'http://127.0.0.1:1' } };

  test('no file and no setting: no password (a server someone else runs without one)', () => {
    const c = loadConfig({ env: {}, overrides: base });
    assert.equal(redisPassword(c), undefined);
    assert.equal(clickhousePassword(c), undefined);
    assert.equal(c.clickhouse.username, 'default');
  });

  test('the files under <dataDir>/stack-auth are the default; explicit settings (env, file path) win', () => {
    mkdirSync(join(dataDir, 'stack-auth'), { recursive: true });
    writeFileSync(join(dataDir, 'stack-auth', 'redis.password'), 'from-file\n');
    writeFileSync(join(dataDir, 'stack-auth', 'clickhouse.password'), 'ch-from-file\n');
    const byFile = loadConfig({ env: {}, overrides: base });
    assert.equal(redisPassword(byFile), 'from-file');
    assert.equal(clickhousePassword(byFile), 'ch-from-file');

    const byEnv = loadConfig({ env: { TAPFLEET_REDIS_PASSWORD: 'from-env', TAPFLEET_CLICKHOUSE_PASSWORD: 'ch-from-env' }, overrides: base });
    assert.equal(redisPassword(byEnv), 'from-env');
    assert.equal(clickhousePassword(byEnv), 'ch-from-env');

    const other = join(dataDir, 'elsewhere.password');
    writeFileSync(other, 'elsewhere\n');
    const byPath = loadConfig({ env: { TAPFLEET_REDIS_PASSWORD_FILE: other, TAPFLEET_CLICKHOUSE_PASSWORD_FILE: other }, overrides: base });
    assert.equal(redisPassword(byPath), 'elsewhere');
    assert.equal(clickhousePassword(byPath), 'elsewhere');
  });

  test('the config file the stack writes for its own processes is 0600', async () => {
    const c = loadConfig({ env: {}, overrides: { ...base, redis: { ...base.redis, password: 'explicit-secret' } } });
    const [cp] = stackServices(c, ['control-plane']);
    const dirs = serviceDirs(c, 'control-plane');
    mkdirSync(dirs.root, { recursive: true });
    const args = await cp!.prepare(dirs);
    const file = args[args.indexOf('--config') + 1]!;
    assert.equal(mode(file), 0o600);
    assert.match(readFileSync(file, 'utf8'), /explicit-secret/, 'an explicit password is carried, so the file must be private');
    rmSync(dataDir, { recursive: true, force: true });
  });
});
