import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod/v3';
import { adminTokenPath } from '@tapfleet/control-plane';
import { ApiError, DeploymentView, HostView } from '@tapfleet/schemas';
import { AgentProcess, eventually, FleetStack } from './fleet-harness.js';

const TP = 'probe tracepoint:syscalls:sys_enter_getpid';
const request = (script: string) => ({ scriptName: 'big.tap', script, selector: { role: 'limits' }, ttl: '1m', canary: false });

describe('compile limits and the compile queue on a real control plane', () => {
  const stack = new FleetStack(32000, 32010);
  const gate = join(stack.config.dataDir, 'clang-gate');
  const fakeClang = join(stack.config.dataDir, 'bin', 'clang');
  let controlPlane: ChildProcess;
  let tracee: ChildProcess;
  const deployed: string[] = [];

  /** POST /v1/deployments with the raw response, so status and headers can be checked. */
  async function post(script: string): Promise<{ status: number; retryAfter: string | null; body: unknown }> {
    const res = await fetch(`${stack.config.controlPlane.url}/v1/deployments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readFileSync(adminTokenPath(stack.config.dataDir), 'utf8').trim()}`, 'content-type': 'application/json' },
      body: JSON.stringify(request(script)),
    });
    const body: unknown = await res.json();
    if (res.status === 201) deployed.push(DeploymentView.parse(body).id);
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body };
  }
  const errorMessage = (body: unknown) => ApiError.parse(body).error.message;
  const metric = async (name: string) => {
    const text = await (await fetch(`${stack.config.controlPlane.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ').pop()) : NaN;
  };
  const startControlPlane = async (compiler: Record<string, unknown>) => {
    controlPlane = stack.spawnTapfleet(['control-plane'], { compiler }, 'control-plane');
    await eventually('the control plane to answer /healthz', async () => (await fetch(`${stack.config.controlPlane.url}/healthz`)).ok);
  };

  before(async () => {
    await stack.up();
    // A stand-in clang that waits for the test to open a gate, then runs the real one: a compile
    // that takes exactly as long as the test needs, with no timing in it.
    mkdirSync(join(fakeClang, '..'), { recursive: true });
    writeFileSync(fakeClang, `#!/bin/sh\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\nexec clang "$@"\n`);
    chmodSync(fakeClang, 0o755);
    await startControlPlane({ clang: fakeClang, concurrency: 1, maxQueued: 1, retryAfterS: 3, clangTimeoutMs: 600_000 });
    tracee = spawn('sleep', ['600'], { stdio: 'ignore' });
    await new AgentProcess(stack, { hostId: 'host-limits', labels: { role: 'limits' }, scopePid: tracee.pid! }, 32011).start();
  });

  after(async () => {
    writeFileSync(gate, '');
    for (const id of deployed) await stack.api().call('POST', `/v1/deployments/${id}/stop`, DeploymentView).catch(() => undefined);
    tracee.kill('SIGKILL');
    await stack.cleanup();
  });

  const maps = (from: number, n: number) => Array.from({ length: n }, (_, i) => `  @m${from + i} = count();`).join('\n');
  /** [what, script, the diagnostic's first line] — each answered 422 without running clang. */
  const deep = 'probe tracepoint:syscalls:sys_enter_getpid { @a = sum(';
  const CASES: [string, string, RegExp][] = [
    ['3,000 nested parentheses', `${deep}${'('.repeat(3000)}1${')'.repeat(3000)}); }\n`, new RegExp(`big\\.tap:1:${deep.length + 65}: error: expression nested more than 64 levels deep`)],
    ['a 100,000-term sum', `${deep}${Array(100_000).fill('1').join('+')}); }\n`, new RegExp(`big\\.tap:1:${deep.length + 128}: error: expression nested more than 64 levels deep`)],
    ['5,000 nested ifs', `${TP} {\n${'if (1) {\n'.repeat(5000)}@a = count();\n${'}\n'.repeat(5000)}}\n`, /big\.tap:33:8: error: blocks are nested more than 32 deep/],
    ['10,000 probes', Array.from({ length: 10_000 }, (_, i) => `${TP} { @a${i % 50} = count(); }`).join('\n'), /big\.tap:257:1: error: this script has more than 256 probes/],
    ['65 maps over two probes', `${TP} {\n${maps(0, 40)}\n}\n${TP} {\n${maps(40, 25)}\n}\n`, /big\.tap:68:3: error: this script has more than 64 maps/],
    ['an event name ClickHouse refuses', `${TP} { emit Big { a: 1 } }\n`, new RegExp(`big\\.tap:1:${TP.length + 4}: error: event name 'Big' must be a lower-case identifier`)],
    // A deployment runs until it is stopped: exit() has no run to end (docs/language.md, printf() and exit()).
    ['exit() in a deployment', `${TP} { exit(); }\n`, new RegExp(`big\\.tap:1:${TP.length + 4}: error: exit\\(\\) ends a tapfleet run; a deployment runs until it is stopped`)],
  ];
  for (const [what, script, diagnostic] of CASES)
    test(`${what}: 422 with file:line:col and a caret, never 500 or 201`, async () => {
      const r = await post(script);
      assert.equal(r.status, 422, JSON.stringify(r.body).slice(0, 500));
      const message = errorMessage(r.body);
      assert.match(message, diagnostic);
      assert.match(message, /\n +\^/, 'a caret line under the column');
      assert.ok(message.length < 4096, `a ${message.length}-character answer: a long line is quoted in part`);
    });

  test('a full compile queue answers 503 with Retry-After; GET /v1/hosts answers while a compile runs', async () => {
    const rejectedBefore = await metric('tapfleet_control_plane_compile_rejected_total');
    let firstDone = false;
    const first = post(`${TP} { @first = count(); }\n`).finally(() => (firstDone = true));
    await eventually('the first build to hold the only slot', async () => (await metric('tapfleet_control_plane_compiles_running')) === 1);
    const second = post(`${TP} { @second = count(); }\n`);
    await eventually('the second build to wait', async () => (await metric('tapfleet_control_plane_compile_queue_depth')) === 1);

    const hosts = await stack.api().call('GET', '/v1/hosts', z.array(HostView));
    assert.ok(hosts.some((h) => h.hostId === 'host-limits'));
    assert.equal(firstDone, false, 'the API answered only after the compile finished');

    const third = await post(`${TP} { @third = count(); }\n`);
    assert.equal(third.status, 503);
    assert.equal(third.retryAfter, '3');
    assert.equal(ApiError.parse(third.body).error.code, 'compile_queue_full');
    assert.equal(await metric('tapfleet_control_plane_compile_rejected_total'), rejectedBefore + 1);
    assert.equal(firstDone, false);

    writeFileSync(gate, ''); // let clang run
    assert.equal((await first).status, 201);
    assert.equal((await second).status, 201);
    assert.equal(await metric('tapfleet_control_plane_compiles_running'), 0);
    assert.equal(await metric('tapfleet_control_plane_compile_queue_depth'), 0);
  });

  test('clang past its allowance: 422 naming the limit, the timeout counted, the queue free again', async () => {
    await stack.stopChild(controlPlane);
    const sleepy = join(stack.config.dataDir, 'bin', 'clang-sleeps');
    writeFileSync(sleepy, '#!/bin/sh\nsleep 600\n');
    chmodSync(sleepy, 0o755);
    await startControlPlane({ clang: sleepy, concurrency: 1, maxQueued: 1, clangTimeoutMs: 1500 });
    const r = await post(`${TP} { @slow = count(); }\n`);
    assert.equal(r.status, 422);
    assert.match(errorMessage(r.body), /big\.tap:1:1: error: building this script took longer than 1500 ms, so it was stopped/);
    assert.equal(await metric('tapfleet_control_plane_compile_timeouts_total'), 1);
    assert.equal(await metric('tapfleet_control_plane_compiles_running'), 0);
  });
});
