import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { DeploymentView } from '@tapfleet/schemas';
import { AgentProcess, buildTraceeAt, eventually, FleetStack, fleetBinDir, sleep } from './fleet-harness.js';

/**
 * Review finding: a bundle the overload governor detached is attached again when the agent
 * restarts (kill -9, then start): seen on the local stack, "overload governor detached the
 * bundle" at 01:50:35.9, the agent killed at 01:50:44, the new agent "deployment running" at
 * 01:50:48.8 and detached again at 01:50:51.8, while the status said `overloaded` all along.
 * An agent in a crash loop would re-run an over-budget bundle on every start. The loss report
 * also called the governor's detach "agent down" from 01:50:35.9, 8 s before the agent died.
 */
describe('the overload governor\'s decision survives an agent restart', () => {
  const stack = new FleetStack(37020, 37030);
  let tracee: ChildProcess;
  const HOST = 'host-gov';
  const spec = () => ({ hostId: HOST, labels: { role: 'gov' }, scopePid: tracee.pid!, agent: { governor: { maxEventsPerSec: 100, windows: 2 } } });

  before(async () => {
    await stack.up();
    await stack.startControlPlane();
    tracee = spawn(buildTraceeAt(join(fleetBinDir(), 'gov', 'tracee')), ['loop', '2000'], { stdio: 'ignore' });
  });

  after(async () => {
    tracee?.kill('SIGKILL');
    await stack.cleanup();
  });

  test('after kill -9 and restart of the agent, the overloaded bundle is not attached again', async () => {
    const agent = new AgentProcess(stack, spec(), 37031);
    await agent.start();
    const d = await stack.api().call('POST', '/v1/deployments', DeploymentView, {
      scriptName: 'gov.tap', script: 'probe tracepoint:syscalls:sys_enter_getpid { emit call { n: 1 }; }\n', selector: { role: 'gov' }, ttl: '5m', canary: false,
    });
    await eventually('the governor to detach', async () => {
      const v = await stack.api().call('GET', `/v1/deployments/${d.id}`, DeploymentView);
      return v.hosts[HOST]?.state === 'overloaded' ? true : undefined;
    }, 30_000);
    await eventually('the runner to exit', () => (agent.runnerPids().length === 0 ? true : undefined));
    agent.child.kill('SIGKILL');
    await eventually('the agent to die', () => (agent.child.exitCode !== null || agent.child.signalCode !== null ? true : undefined));

    const again = new AgentProcess(stack, spec(), 37032);
    await again.start();
    // Several stats windows (300 ms each): any runner for the deployment is a re-attach.
    let seen = 0;
    for (let i = 0; i < 60; i++) {
      seen = Math.max(seen, again.runnerPids().length);
      await sleep(50);
    }
    assert.equal(seen, 0, 'a runner was started again for the bundle the governor had detached');
    const v = await stack.api().call('GET', `/v1/deployments/${d.id}`, DeploymentView);
    assert.equal(v.hosts[HOST]?.state, 'overloaded');
  });
});
