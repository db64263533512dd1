import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { AggregationsView, DeploymentView } from '@tapfleet/schemas';
import { AgentProcess, buildTraceeAt, eventually, FleetStack, fleetBinDir } from './fleet-harness.js';

/**
 * Value maps in the fleet: each host's values are its own state (a pid, a thread's start time),
 * so `tapfleet aggs` keeps them as rows per host, the host id first in the key, while an
 * aggregation in the same script is still merged into one entry (stats() too: totals and counts
 * add across hosts, and the CLI prints them as bpftrace does). The script is written as bpftrace
 * writes it, without `probe`.
 */
const SCRIPT = 'uprobe:$tracee:tf_add { @last[pid] = arg0; @who = comm; @calls = count(); @st = stats(arg0); }\n';

describe('fleet: value maps stay per host, aggregations merge', () => {
  const stack = new FleetStack(39000, 39020);
  const tracees = new Map<string, ChildProcess>();
  const agents: AgentProcess[] = [];
  let deploymentId: string | undefined;

  before(async () => {
    await stack.up();
    await stack.startControlPlane();
    const bin = buildTraceeAt(join(fleetBinDir(), 'value-maps', 'tracee'));
    for (const [hostId, port] of [['host-a', 39021], ['host-b', 39022]] as const) {
      const tracee = spawn(bin, ['loop', '2000'], { stdio: 'ignore' });
      tracees.set(hostId, tracee);
      agents.push(new AgentProcess(stack, { hostId, labels: { role: 'values' }, scopePid: tracee.pid!, binaries: { tracee: bin } }, port));
    }
    await Promise.all(agents.map((a) => a.start()));
  });

  after(async () => {
    if (deploymentId) await stack.api().call('POST', `/v1/deployments/${deploymentId}/stop`, DeploymentView).catch(() => undefined);
    for (const t of tracees.values()) t.kill('SIGKILL');
    await stack.cleanup();
  });

  test('aggs: one row per host and key for a value map (API and CLI); one merged entry for count()', async () => {
    const d = await stack.api().call('POST', '/v1/deployments', DeploymentView, { scriptName: 'values.tap', script: SCRIPT, selector: { role: 'values' }, ttl: '5m', canary: false });
    deploymentId = d.id;
    const view = await eventually('value maps from both hosts', async () => {
      const v = await stack.api().call('GET', `/v1/deployments/${d.id}/aggs`, AggregationsView);
      return v.hosts.length === 2 && v.maps.find((m) => m.name === '@last')!.entries.length === 2 ? v : undefined;
    }, 30_000);
    const last = view.maps.find((m) => m.name === '@last')!;
    assert.equal(last.kind, 'value');
    // Each host traced only its own tracee: one key each, its pid, behind its host id.
    assert.deepEqual(last.entries.map((e) => e.key), [['host-a', String(tracees.get('host-a')!.pid)], ['host-b', String(tracees.get('host-b')!.pid)]]);
    assert.ok(last.entries.every((e) => BigInt(e.value) > 0n), JSON.stringify(last.entries));
    const who = view.maps.find((m) => m.name === '@who')!;
    assert.deepEqual(who.entries.map((e) => [e.key, e.text]), [[['host-a'], 'tracee'], [['host-b'], 'tracee']]);
    const calls = view.maps.find((m) => m.name === '@calls')!;
    assert.equal(calls.entries.length, 1, 'an aggregation is one fleet-wide entry');
    const st = view.maps.find((m) => m.name === '@st')!;
    assert.equal(st.kind, 'stats');
    assert.equal(st.entries.length, 1, 'stats() is one fleet-wide entry');
    assert.ok(BigInt(st.entries[0]!.count!) > 0n, JSON.stringify(st.entries));

    const cli = stack.cli(['aggs', d.id]);
    assert.equal(cli.code, 0, cli.stderr);
    console.log(`$ tapfleet aggs ${d.id}\n${cli.stdout}`);
    assert.match(cli.stdout, new RegExp(`^@last\\[host-a, ${tracees.get('host-a')!.pid}\\]: [1-9][0-9]*$`, 'm'));
    assert.match(cli.stdout, new RegExp(`^@last\\[host-b, ${tracees.get('host-b')!.pid}\\]: [1-9][0-9]*$`, 'm'));
    assert.match(cli.stdout, /^@who\[host-a\]: tracee$/m);
    assert.match(cli.stdout, /^@calls: [1-9][0-9]*$/m);
    const line = /^@st: count (\d+), average (-?\d+), total (-?\d+)$/m.exec(cli.stdout);
    assert.ok(line, cli.stdout);
    assert.equal(BigInt(line[2]!), BigInt(line[3]!) / BigInt(line[1]!), 'the average is the merged total over the merged count');
  });
});
