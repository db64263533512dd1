import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureJaegerBinary, JaegerBuildError, jaegerQueryGrpcPort, processStartTime, stackDown, stackStatus, stackUp } from '@tapfleet/stack';
import { isolatedStackConfig, testLogger } from '../stack-harness.js';
import { jaegerQueryFor } from '../jaeger/jaeger-query.js';

const log = testLogger('jaeger-service');
const config = isolatedStackConfig(38000);
after(async () => {
  await stackDown(config, log);
  if (!process.env.KEEP) rmSync(config.dataDir, { recursive: true, force: true });
});

/** Every TCP and UDP socket the process listens on, as "address:port". */
function listeningSockets(pid: number): string[] {
  const lines = execFileSync('ss', ['-H', '-l', '-n', '-p', '-t', '-u'], { encoding: 'utf8' }).split('\n');
  return lines
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => l.trim().split(/\s+/)[4]!)
    .sort();
}

test('stack up --with jaeger: Jaeger listens on loopback only, on exactly the configured ports; status lists it; down stops it', async () => {
  const { otlpHttpPort, otlpGrpcPort, queryPort } = config.jaeger;
  const [report] = await stackUp(config, log, { install: false, only: ['jaeger'] });
  assert.deepEqual([report?.name, report?.state, report?.address], ['jaeger', 'started', `127.0.0.1:${queryPort}`]);
  const pid = report!.pid!;
  // Nothing else: no health check (13133), metrics (8888), zpages, expvar, sampling, jaeger or zipkin receivers.
  assert.deepEqual(listeningSockets(pid), [otlpHttpPort, otlpGrpcPort, jaegerQueryGrpcPort(config), queryPort].map((p) => `127.0.0.1:${p}`).sort());
  assert.deepEqual(await jaegerQueryFor(config).getTrace('0123456789abcdef0123456789abcdef'), [], 'the query API answers');

  const again = await stackUp(config, log, { install: false, only: ['jaeger'] });
  assert.deepEqual(again.map((r) => [r.state, r.pid]), [['running', pid]], 'a second up finds it running');
  const status = await stackStatus(config);
  assert.deepEqual(status.filter((r) => r.name === 'jaeger').map((r) => [r.state, r.pid]), [['running', pid]]);

  const down = await stackDown(config, log);
  assert.deepEqual(down.filter((r) => r.name === 'jaeger').map((r) => r.pid), [pid]);
  assert.equal(processStartTime(pid), undefined, 'the Jaeger process is gone');
});

test('without Go, the Jaeger build says so plainly and leaves no binary behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-jaeger-build-'));
  const binary = join(dir, 'jaeger-test');
  const path = process.env.PATH;
  process.env.PATH = dir; // no `go` there
  try {
    await assert.rejects(ensureJaegerBinary(log, { binary, progress: () => {} }), (e: unknown) => {
      assert.ok(e instanceof JaegerBuildError);
      assert.equal(e.code, 'GO_MISSING');
      assert.match(e.message, /^Go is not installed \(no 'go' on PATH\)\. tapfleet builds Jaeger v1\.76\.0/);
      return true;
    });
  } finally {
    process.env.PATH = path;
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(existsSync(binary), false);
});
