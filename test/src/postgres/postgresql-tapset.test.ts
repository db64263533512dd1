import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { attachedRunner, linksHeldBy } from '../cli/runner-links.js';
import { initCluster, openSession, pollUntil, psql, removeCluster, serverShellCommand, startCluster, stopCluster, waitReady, type PgCluster, type PgSession } from './pg-cluster.js';
import { tapfleetRun, type EventLine } from './tapfleet-run.js';

/** Postgres's port inside the test netns (this file's port base is 44000). */
const PORT = 44010;

/** Every alias the test asserts on, emitting what it binds. */
const SCRIPT = `
probe postgresql.query { emit query { query: $query, took: latency } }
probe postgresql.query.parse { emit parse { query: $query, took: latency } }
probe postgresql.query.rewrite { emit rewrite { query: $query, took: latency } }
probe postgresql.query.plan { emit plan { took: latency } }
probe postgresql.query.execute { emit execute { took: latency } }
probe postgresql.transaction.start { emit txn_start { lxid: $lxid } }
probe postgresql.transaction.commit { emit txn_commit { lxid: $lxid, took: latency } }
probe postgresql.transaction.abort { emit txn_abort { lxid: $lxid, took: latency } }
probe postgresql.lock.wait.start { emit lock_wait_start { db: $field1, rel: $field2, locktype: $locktype, mode: $mode } }
probe postgresql.lock.wait { emit lock_wait { db: $field1, rel: $field2, locktype: $locktype, mode: $mode, took: latency } }
probe postgresql.checkpoint.start { emit ckpt_start { flags: $flags } }
probe postgresql.checkpoint.write { emit ckpt_write { buffers: $buffers, to_write: $to_write, took: latency } }
probe postgresql.checkpoint { emit ckpt { took: latency } }
probe postgresql.buffer.read { @buffer_reads[$found] = count(); }
`;

/** One session's statements, each its own simple-protocol query (psql -c ... -c ...). */
const SESSION = [
  'SELECT pg_backend_pid()',
  'SELECT pg_sleep(0.05)',
  'CREATE TABLE tf_orders (id int, qty int)',
  'BEGIN',
  'INSERT INTO tf_orders VALUES (1, 10)',
  'COMMIT',
  'BEGIN',
  'INSERT INTO tf_orders VALUES (2, 20)',
  'ROLLBACK',
  'CHECKPOINT',
];

const CHECKPOINT_IMMEDIATE = 0x4;
const CHECKPOINT_FORCE = 0x8;
const CHECKPOINT_WAIT = 0x20;
const CHECKPOINT_IS_SHUTDOWN = 0x1;
const LOCKTAG_RELATION = 0;
const ACCESS_SHARE_LOCK = 1;

describe('the PostgreSQL tapset in the kernel, on a throwaway cluster of Debian\'s postgresql', () => {
  let cluster: PgCluster;
  before(() => {
    cluster = initCluster('tapset-test', PORT);
  });
  after(async () => {
    await stopCluster(cluster);
    removeCluster(cluster);
  });

  test('known queries arrive with their text and latency; phases, transactions, a lock wait and a checkpoint too', { timeout: 180_000 }, async () => {
    const script = join(cluster.dir, 'postgresql-test.tap');
    writeFileSync(script, SCRIPT);
    // The server starts under the run (-c with shell syntax): every probe is scoped to the cgroup its
    // postmaster, backends and workers share. `-p POSTMASTER` would miss the backends (see the tapset).
    const run = tapfleetRun([script, '--binary', `postgres=${join(cluster.bin, 'postgres')}`, '-c', serverShellCommand(cluster)]);

    let dbOid: number;
    let relOid: number;
    let sessionPid: number;
    let waiterPid: number;
    let lockHeldAtLeastNs: number;
    const sessions: PgSession[] = [];
    try {
      await waitReady(cluster);
      sessionPid = Number(psql(cluster, ...SESSION).split('\n')[0]);
      [dbOid, relOid] = psql(cluster, "SELECT oid FROM pg_database WHERE datname = 'postgres'", "SELECT 'tf_orders'::regclass::oid").trim().split('\n').map(Number) as [number, number];

      // A lock wait made by two sessions: A holds ACCESS EXCLUSIVE until B is seen waiting for its
      // ACCESS SHARE, then 200 ms more; B's wait is at least that long (a lower bound, not a timing).
      const a = openSession(cluster);
      sessions.push(a);
      a.send('BEGIN;');
      a.send('LOCK TABLE tf_orders IN ACCESS EXCLUSIVE MODE;');
      await pollUntil(cluster, "SELECT count(*) FROM pg_locks WHERE relation = 'tf_orders'::regclass AND mode = 'AccessExclusiveLock' AND granted", (v) => v === '1');
      const b = openSession(cluster);
      sessions.push(b);
      b.send('SELECT count(*) FROM tf_orders;');
      waiterPid = Number(await pollUntil(cluster, "SELECT pid FROM pg_locks WHERE relation = 'tf_orders'::regclass AND NOT granted", (v) => /^[0-9]+$/.test(v)));
      const seenWaiting = process.hrtime.bigint();
      await sleep(200);
      const released = process.hrtime.bigint();
      a.send('COMMIT;');
      await a.end();
      assert.equal((await b.end()).trim(), '1', 'B counts the committed row, not the rolled back one');
      lockHeldAtLeastNs = Number(released - seenWaiting);
    } finally {
      sessions.forEach((x) => x.kill());
      await stopCluster(cluster);
    }
    const { code, stdout, stderr, events, maps } = await run.done;
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /not attached/);

    const of = (name: string, pid?: number) => events.filter((e) => e.event === name && (pid === undefined || e.pid === pid));
    const num = (e: EventLine, field: string) => {
      const v = e[field];
      assert.equal(typeof v, 'number', `${e.event}.${field}`);
      return v as number;
    };
    // Events that happened while a query ran: in (its start, its end].
    const within = (list: EventLine[], q: EventLine) => list.filter((e) => e.ktime_ns > q.ktime_ns - num(q, 'took') && e.ktime_ns <= q.ktime_ns);

    // Scope: only the cluster's processes (the run's cgroup), all of them the postgres binary.
    assert.deepEqual([...new Set(events.map((e) => e.comm))], ['postgres']);

    // The session's queries, in order, each with its text.
    const queries = of('query', sessionPid).sort((x, y) => x.ktime_ns - y.ktime_ns);
    assert.deepEqual(queries.map((q) => q.query), SESSION);
    const query = (text: string, nth = 0) => queries.filter((q) => q.query === text)[nth]!;
    const sleepQuery = query('SELECT pg_sleep(0.05)');
    assert.ok(num(sleepQuery, 'took') >= 50_000_000, `pg_sleep(0.05) took ${sleepQuery.took} ns`);
    for (const q of queries) assert.ok(num(q, 'took') > 0);

    // Its phases: parsed and rewritten with the text, planned, and the executor holds the 50 ms sleep.
    assert.equal(within(of('parse', sessionPid), sleepQuery).map((e) => e.query).join(), 'SELECT pg_sleep(0.05)');
    assert.equal(within(of('rewrite', sessionPid), sleepQuery).map((e) => e.query).join(), 'SELECT pg_sleep(0.05)');
    assert.equal(within(of('plan', sessionPid), sleepQuery).length, 1);
    const execute = within(of('execute', sessionPid), sleepQuery);
    assert.equal(execute.length, 1);
    assert.ok(num(execute[0]!, 'took') >= 50_000_000 && num(execute[0]!, 'took') <= num(sleepQuery, 'took'), `execute ${execute[0]!.took} ns`);

    // Transactions: a statement outside BEGIN commits its own; BEGIN..COMMIT commits once, at COMMIT,
    // spanning the INSERT; BEGIN..ROLLBACK aborts once, at ROLLBACK.
    const commits = of('txn_commit', sessionPid);
    const aborts = of('txn_abort', sessionPid);
    const commitsIn = (q: EventLine) => within(commits, q).length;
    assert.deepEqual(queries.map(commitsIn), [1, 1, 1, 0, 0, 1, 0, 0, 0, 1]);
    assert.deepEqual(queries.map((q) => within(aborts, q).length), [0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    const begin1 = within(of('txn_start', sessionPid), query('BEGIN', 0));
    const commit = within(commits, query('COMMIT'))[0]!;
    assert.equal(begin1.length, 1);
    assert.equal(commit.lxid, begin1[0]!.lxid, 'the commit closes the transaction BEGIN started');
    assert.ok(num(commit, 'took') >= num(query('INSERT INTO tf_orders VALUES (1, 10)'), 'took'));
    const abort = within(aborts, query('ROLLBACK'))[0]!;
    assert.equal(abort.lxid, within(of('txn_start', sessionPid), query('BEGIN', 1))[0]!.lxid);
    assert.ok(num(abort, 'took') >= num(query('INSERT INTO tf_orders VALUES (2, 20)'), 'took'));

    // The lock wait: B's backend, the relation's tag, ACCESS SHARE, at least as long as A was seen holding it.
    const waits = of('lock_wait', waiterPid);
    assert.equal(waits.length, 1, JSON.stringify(of('lock_wait')));
    const wait = waits[0]!;
    assert.deepEqual([wait.db, wait.rel, wait.locktype, wait.mode], [dbOid!, relOid!, LOCKTAG_RELATION, ACCESS_SHARE_LOCK]);
    assert.ok(num(wait, 'took') >= lockHeldAtLeastNs!, `waited ${wait.took} ns, held at least ${lockHeldAtLeastNs!} ns`);
    const waitStart = of('lock_wait_start', waiterPid);
    assert.deepEqual(waitStart.map((e) => [e.db, e.rel, e.mode]), [[dbOid!, relOid!, ACCESS_SHARE_LOCK]]);
    assert.ok(waitStart[0]!.ktime_ns < wait.ktime_ns);
    // psql sends the statement as typed, semicolon included.
    const blocked = of('query', waiterPid).find((q) => String(q.query).startsWith('SELECT count(*) FROM tf_orders'))!;
    assert.ok(num(blocked, 'took') >= num(wait, 'took'));

    // The CHECKPOINT: the checkpointer (another process) began it immediate/forced/waited-for, wrote the
    // buffers the table's pages dirtied, and finished within the command's time.
    const checkpointQuery = query('CHECKPOINT');
    const started = within(of('ckpt_start'), checkpointQuery);
    assert.equal(started.length, 1);
    const checkpointer = started[0]!.pid;
    assert.notEqual(checkpointer, sessionPid);
    const flags = num(started[0]!, 'flags');
    assert.equal(flags & (CHECKPOINT_IMMEDIATE | CHECKPOINT_FORCE | CHECKPOINT_WAIT), CHECKPOINT_IMMEDIATE | CHECKPOINT_FORCE | CHECKPOINT_WAIT, `flags 0x${flags.toString(16)}`);
    const written = within(of('ckpt_write', checkpointer), checkpointQuery);
    assert.equal(written.length, 1);
    assert.ok(num(written[0]!, 'buffers') >= 1 && num(written[0]!, 'buffers') <= num(written[0]!, 'to_write'), JSON.stringify(written[0]));
    const done = within(of('ckpt', checkpointer), checkpointQuery);
    assert.equal(done.length, 1);
    assert.ok(num(done[0]!, 'took') >= num(written[0]!, 'took') && num(done[0]!, 'took') <= num(checkpointQuery, 'took'));
    // Stopping the cluster (fast shutdown) ends with a shutdown checkpoint, traced too.
    assert.ok(of('ckpt_start', checkpointer).some((e) => (num(e, 'flags') & CHECKPOINT_IS_SHUTDOWN) !== 0));

    // Buffer reads, by found: pages already in shared buffers and pages read in (a fresh cluster has both).
    const reads = maps.find((m) => m.map === '@buffer_reads');
    assert.ok(reads, stdout.slice(-500));
    const byFound = new Map(reads.entries.map((e) => [e.key[0], e.value]));
    assert.ok((byFound.get(1) ?? 0) > 0 && (byFound.get(0) ?? 0) > 0, JSON.stringify(reads.entries));
    console.log(`# pg_sleep(0.05): ${(num(sleepQuery, 'took') / 1e6).toFixed(1)} ms; lock wait ${(num(wait, 'took') / 1e6).toFixed(1)} ms; checkpoint wrote ${written[0]!.buffers} buffer(s) in ${(num(done[0]!, 'took') / 1e6).toFixed(2)} ms; ${events.length} events`);
  });

  test('-p scopes to one process: a backend\'s pid traces its session only, the postmaster\'s sees no query', { timeout: 120_000 }, async () => {
    // docs/postgresql.md's example: queries, rollbacks, lock waits, checkpoints.
    const script = join(PROJECT_ROOT, 'docs', 'examples', 'postgresql.tap');
    const postmaster = startCluster(cluster);
    let backend: number;
    let byBackend: ReturnType<typeof tapfleetRun>;
    let byPostmaster: ReturnType<typeof tapfleetRun>;
    let traced: PgSession | undefined;
    try {
      traced = openSession(cluster, 'tf-traced');
      backend = Number(await pollUntil(cluster, "SELECT pid FROM pg_stat_activity WHERE application_name = 'tf-traced'", (v) => /^[0-9]+$/.test(v)));
      const binary = `postgres=${join(cluster.bin, 'postgres')}`;
      byBackend = tapfleetRun([script, '--binary', binary, '-p', String(backend)]);
      byPostmaster = tapfleetRun([script, '--binary', binary, '-p', String(postmaster)]);
      // Both attached (five paired aliases: ten links each) before anything runs.
      for (const run of [byBackend, byPostmaster]) {
        const runner = await attachedRunner(run.pid);
        assert.ok(runner, 'the probes never attached');
        let polls = 0;
        while (linksHeldBy(runner) < 10 && polls++ < 500) await sleep(20);
        assert.ok(linksHeldBy(runner) >= 10, 'every probe attached');
      }
      traced.send("SELECT 'traced session';");
      psql(cluster, "SELECT 'another session'");
      // The session's backend exits with it, and so ends the -p BACKEND run.
      await traced.end();
    } finally {
      traced?.kill();
      await stopCluster(cluster);
    }
    const mine = await byBackend.done;
    assert.equal(mine.code, 0, mine.stderr);
    assert.match(mine.stderr, new RegExp(`process ${backend} exited`));
    assert.deepEqual(mine.events.filter((e) => e.event === 'query').map((e) => [e.pid, e.query]), [[backend, "SELECT 'traced session';"]]);
    const postmasters = await byPostmaster.done;
    assert.equal(postmasters.code, 0, postmasters.stderr);
    assert.deepEqual(postmasters.events, [], 'the postmaster runs no query (nor checkpoint); its backends are processes -p does not follow');
  });
});
