import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { z } from 'zod/v3';
import { HostView, KernelClockStatus } from '@tapfleet/schemas';
import { readKernelClockStatus } from '@tapfleet/runner';
import { AgentProcess, eventually, FleetStack } from './fleet-harness.js';

/**
 * The disciplined-clock bound on this machine's real kernel: tapfleet-clock-status reads
 * adjtimex, and a real agent chooses its clock source from it and from its exchanges with the
 * control plane's time service. This VM runs no NTP daemon, so its kernel is unsynchronised
 * and the request/reply bound must be the one reported.
 */
describe('clock source: the kernel\'s discipline read on this host, the agent\'s choice', () => {
  const stack = new FleetStack(38500, 38510);
  let idle: ChildProcess;

  before(async () => {
    await stack.up();
    await stack.startControlPlane();
    idle = spawn('sleep', ['600'], { stdio: 'ignore' });
  });

  after(async () => {
    idle?.kill('SIGKILL');
    await stack.cleanup();
  });

  test('tapfleet-clock-status runs on this kernel and prints one line the schema accepts, consistent with itself', async () => {
    const status = await readKernelClockStatus();
    assert.ok(KernelClockStatus.safeParse(status).success);
    assert.equal(status.unsync, (status.status & 0x40) !== 0, 'unsync is the STA_UNSYNC bit');
    assert.equal(status.synchronised, status.state !== 'TIME_ERROR' && !status.unsync);
  });

  test('an agent on this host reports its clock source in the inventory and on /metrics; unsynchronised: request/reply', async () => {
    const kernel = await readKernelClockStatus();
    const agent = new AgentProcess(stack, { hostId: 'host-clock', labels: { role: 'clock' }, scopePid: idle.pid! }, 38511);
    await agent.start();
    const host = await eventually('the heartbeat to carry a clock', async () =>
      (await stack.api().call('GET', '/v1/hosts', z.array(HostView))).find((h) => h.hostId === 'host-clock' && h.clock));
    const clock = host.clock!;
    const metrics = await agent.metrics();
    assert.match(metrics, new RegExp(`^tapfleet_agent_clock_kernel_synchronised ${kernel.synchronised ? 1 : 0}$`, 'm'));
    if (!kernel.synchronised) {
      assert.equal(clock.source, 'request-reply');
      // RTT/2 over loopback NATS: far below the unsynchronised kernel's 16 s "estimate".
      assert.ok(clock.uncertaintyNs > 0 && clock.uncertaintyNs < kernel.esterrorUs * 1000, JSON.stringify(clock));
      assert.match(metrics, /^tapfleet_agent_clock_source\{source="request-reply"\} 1$/m);
      assert.match(metrics, /^tapfleet_agent_clock_source\{source="ntp"\} 0$/m);
    } else {
      // A disciplined machine: whichever is tighter, and the metric names the same source.
      assert.ok(clock.source === 'ntp' ? clock.uncertaintyNs === kernel.esterrorUs * 1000 && clock.offsetNs === 0 : clock.uncertaintyNs <= kernel.esterrorUs * 1000, JSON.stringify(clock));
      assert.match(metrics, new RegExp(`^tapfleet_agent_clock_source\\{source="${clock.source}"\\} 1$`, 'm'));
    }
  });

  test('an agent with an artificial offset reports request/reply, and the offset is found within its bound', async () => {
    const shift = 3_000_000;
    const agent = new AgentProcess(stack, { hostId: 'host-shifted', labels: { role: 'clock' }, scopePid: idle.pid!, agent: { clock: { sampleIntervalMs: 1000, artificialOffsetNs: shift } } }, 38512);
    await agent.start();
    const host = await eventually('the heartbeat to carry a clock', async () =>
      (await stack.api().call('GET', '/v1/hosts', z.array(HostView))).find((h) => h.hostId === 'host-shifted' && h.clock));
    const clock = host.clock!;
    assert.equal(clock.source, 'request-reply');
    assert.ok(Math.abs(clock.offsetNs - shift) <= clock.uncertaintyNs, JSON.stringify(clock));
    assert.match(await agent.metrics(), /^tapfleet_agent_clock_source\{source="request-reply"\} 1$/m);
  });
});
