import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Alias } from '@tapfleet/compiler';
import type { DecodedEvent } from '@tapfleet/schemas';
import { runWorkload, tapsetAliases, TAPSET_PORTS, type WorkloadRun } from './tapset-workload.js';

const PORT = TAPSET_PORTS + 1;
const label = (a: Alias) => `${a.name}@${a.version ?? 1}`;
const eventName = (a: Alias) => `${a.name.replace(/\./g, '_')}_v${a.version ?? 1}`;

/** One probe per alias version of syscalls.tap, emitting every local it binds (and latency, when paired). */
function scriptFor(aliases: Alias[]): string {
  return aliases
    .map((a) => {
      const fields = a.assigns.flatMap((s) => (s.kind === 'let' ? [`${s.name}: $${s.name}`] : []));
      if (a.pairs) fields.push('took: latency');
      return `probe ${label(a)} { emit ${eventName(a)} { ${fields.join(', ')} } }`;
    })
    .join('\n');
}

type Want = [alias: string, fields: Record<string, bigint | string>, opts?: { count?: number; minTookNs?: number }];

/** What test/tapsets/workload.py's `syscalls` mode does, call by call (facts: the fds and addresses it got). */
function expectations(f: Record<string, number | string>): Want[] {
  const n = (k: string) => BigInt(f[k] as number);
  const rd = n('read_fd');
  const wr = n('write_fd');
  const ret = (w: Want, r: bigint): Want => [`${w[0].split('@')[0]}.return`, { ...w[1], ret: r }, w[2]];
  const calls: [Want, bigint][] = [
    [['syscall.openat', { path: f.read_path as string, flags: 0o2000000n /* O_RDONLY | O_CLOEXEC */ }], rd],
    [['syscall.read', { fd: rd, count: 3333n }, { count: 7 }], 3333n],
    [['syscall.pread64', { fd: rd, count: 1234n, pos: 10n }], 1234n],
    [['syscall.readv', { fd: rd, iovcnt: 2n }], 300n],
    [['syscall.close', { fd: rd }], 0n],
    [['syscall.write', { fd: wr, count: 2222n }, { count: 5 }], 2222n],
    [['syscall.pwrite64', { fd: wr, count: 555n, pos: 100000n }], 555n],
    [['syscall.writev', { fd: wr, iovcnt: 3n }], 60n],
    [['syscall.fsync', { fd: wr }], 0n],
    [['syscall.fdatasync', { fd: wr }], 0n],
    [['syscall.connect', { fd: n('client_fd'), family: 2n, port: BigInt(PORT) }], 0n],
    [['syscall.accept4', { fd: n('listen_fd') }], n('accepted_fd')],
    [['syscall.accept', { fd: n('listen_fd') }], n('accepted2_fd')],
    [['syscall.sendto', { fd: n('client_fd'), len: 1111n }], 1111n],
    [['syscall.recvfrom', { fd: n('accepted_fd'), len: 4096n }], 1111n],
    [['syscall.sendmsg', { fd: n('client_fd') }], 77n],
    [['syscall.recvmsg', { fd: n('accepted_fd') }], 77n],
    [['syscall.futex', { uaddr: n('futex_addr'), op: 1n, val: 1n }], 0n],
    [['syscall.nanosleep', { req_ns: 20_000_000n }, { minTookNs: 20e6 }], 0n],
    [['syscall.clock_nanosleep', { clock: 1n, flags: 0n, req_ns: 30_000_000n }, { minTookNs: 30e6 }], 0n],
    [['syscall.poll', { nfds: 1n, timeout_ms: 15n }], 0n],
    [['syscall.ppoll', { nfds: 0n }], 0n],
    [['syscall.epoll_wait', { epfd: n('epfd'), maxevents: 5n, timeout_ms: 10n }], 0n],
    [['syscall.epoll_pwait', { epfd: n('epfd'), maxevents: 3n, timeout_ms: 7n }], 0n],
    [['syscall.select', { nfds: 0n }], 0n],
    [['syscall.pselect6', { nfds: 0n }], 0n],
    [['syscall.execve', { filename: '/nonexistent/tapfleet-exec' }], -2n /* ENOENT */],
  ];
  return [
    ...calls.flatMap(([w, r]): Want[] => [[w[0], w[1], w[2]?.count ? { count: w[2].count } : {}], ret(w, r)]),
    // Version 1 of the read/write returns: only $ret, every return.
    ['syscall.read.return@1', { ret: 3333n }, { count: 7 }],
    ['syscall.write.return@1', { ret: 2222n }, { count: 5 }],
  ];
}

const matches = (e: DecodedEvent, fields: Record<string, bigint | string>) => Object.entries(fields).every(([k, v]) => e[k] === v);

describe('tapsets/syscalls.tap in the kernel: every alias fires with the arguments, results and latency of known calls', () => {
  const aliases = tapsetAliases().filter((a) => a.name.startsWith('syscall.'));
  let r: WorkloadRun;
  let want: Want[];
  before(async () => {
    r = await runWorkload('syscalls', scriptFor(aliases), { scoped: true, port: PORT });
    want = expectations(r.facts);
  });

  test('the run lost nothing, and every alias version of syscalls.tap is checked below', () => {
    assert.equal(r.ringbufDrops, 0n);
    assert.equal(r.attachFailures, 0);
    const checked = new Set(want.map(([name]) => (name.includes('@') ? name : `${name}@newest`)));
    const newest = new Map<string, number>();
    for (const a of aliases) newest.set(a.name, Math.max(newest.get(a.name) ?? 0, a.version ?? 1));
    const listed = aliases.map((a) => (a.version ?? 1) === newest.get(a.name) ? `${a.name}@newest` : label(a));
    assert.deepEqual([...new Set(listed)].sort(), [...checked].sort());
  });

  for (const name of syscallsChecked())
    test(`${name} fires with the right values`, () => {
      const alias = resolve(aliases, name);
      const events = r.named(eventName(alias)).filter((e) => Number(e.pid) === Number(r.facts.pid));
      for (const [wname, fields, opts] of want.filter(([w]) => w === name)) {
        const hits = events.filter((e) => matches(e, fields));
        if (opts?.count !== undefined) assert.equal(hits.length, opts.count, `${wname} ${JSON.stringify(fields, big)}: ${hits.length} of ${events.length} events match`);
        else assert.ok(hits.length >= 1, `${wname}: no event with ${JSON.stringify(fields, big)} among ${JSON.stringify(events.slice(0, 5), big)}`);
        if (alias.pairs) for (const e of hits) assert.ok((e.took as bigint) > BigInt(opts?.minTookNs ?? 0), `${wname}: latency ${e.took} ns`);
      }
    });
});

const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

/** The alias a name in the table means: NAME (newest) or NAME@N. */
function resolve(aliases: Alias[], name: string): Alias {
  const [base, v] = name.split('@');
  const versions = aliases.filter((a) => a.name === base).sort((a, b) => (b.version ?? 1) - (a.version ?? 1));
  return v ? versions.find((a) => (a.version ?? 1) === Number(v))! : versions[0]!;
}

/** Test names are fixed before the run: every alias version the table covers. */
function syscallsChecked(): string[] {
  const fake = Object.fromEntries(['read_fd', 'write_fd', 'client_fd', 'listen_fd', 'accepted_fd', 'accepted2_fd', 'futex_addr', 'epfd', 'pid'].map((k) => [k, 0])) as Record<string, number | string>;
  return [...new Set(expectations({ ...fake, read_path: '' }).map(([n]) => n))];
}
