import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '@tapfleet/runtime';

/**
 * A throwaway PostgreSQL cluster of Debian's postgresql package for the tapset's kernel test:
 * initdb'd under the project's data directory, listening on 127.0.0.1:PORT and a unix socket in
 * its own directory only, run as the `postgres` user (the server refuses root), removed after.
 */

/** Debian installs each major version under /usr/lib/postgresql/N; the newest one. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^[0-9]+$/.test(v) && existsSync(join(root, v, 'bin', 'postgres'))) : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server under ${root}: install Debian's postgresql (tapfleet setup does)`);
  return join(root, String(Math.max(...versions.map(Number))), 'bin');
}

export interface PgCluster {
  bin: string;
  dir: string;
  dataDir: string;
  socketDir: string;
  port: number;
}

const dataRoot = () => process.env.TAPFLEET_DATA_DIR ?? join(PROJECT_ROOT, '.tapfleet');

/**
 * Runs a command as the postgres user (created by Debian's package): `setpriv` execs it, no session.
 * The data dir's ancestors need not be open to that user (the stack makes the data dir 0700, and a
 * clone may sit under /root): CAP_DAC_READ_SEARCH, inherited as an ambient capability, lets the
 * cluster's processes pass them without changing any directory's mode.
 */
const AS_POSTGRES = ['setpriv', '--reuid', 'postgres', '--regid', 'postgres', '--init-groups', '--inh-caps', '+dac_read_search', '--ambient-caps', '+dac_read_search'];

function runAsPostgres(argv: string[]): void {
  execFileSync(AS_POSTGRES[0]!, [...AS_POSTGRES.slice(1), ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A fresh cluster (any earlier one of the same name is removed first): trust auth, superuser `postgres`. */
export function initCluster(name: string, port: number): PgCluster {
  const bin = postgresBinDir();
  const dir = join(dataRoot(), 'postgres', name);
  rmSync(dir, { recursive: true, force: true });
  const socketDir = join(dir, 'socket');
  mkdirSync(socketDir, { recursive: true });
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
  chownSync(socketDir, uid, gid);
  const dataDir = join(dir, 'data');
  // --no-sync: a throwaway cluster needs no durability; trust: only this machine's loopback and socket reach it.
  runAsPostgres([join(bin, 'initdb'), '-D', dataDir, '--username=postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  return { bin, dir, dataDir, socketDir, port };
}

/** Server settings: loopback only, no fsync (throwaway), checkpoints logged. */
function serverArgs(c: PgCluster): string[] {
  return ['-k', c.socketDir, '-p', String(c.port), ...['listen_addresses=127.0.0.1', 'fsync=off', 'log_checkpoints=on'].flatMap((s) => ['-c', s])];
}

/**
 * The server as one shell command line for `tapfleet run -c`: the trailing `; :` is shell syntax,
 * so the run scopes every probe to a cgroup made for it, which the postmaster's forked backends,
 * checkpointer and other workers inherit. Its log goes to server.log in the cluster's directory.
 */
export function serverShellCommand(c: PgCluster): string {
  const argv = [...AS_POSTGRES, join(c.bin, 'postgres'), '-D', c.dataDir, ...serverArgs(c)];
  return `${argv.map(shellQuote).join(' ')} 2>>${shellQuote(join(c.dir, 'server.log'))}; :`;
}

/** Starts the server in the background with pg_ctl, ready when it returns; the postmaster's pid. Its log is pg_ctl.log (written as postgres; server.log is root's, from the shell). */
export function startCluster(c: PgCluster): number {
  // pg_ctl hands -o to a shell: quoted.
  runAsPostgres([join(c.bin, 'pg_ctl'), '-D', c.dataDir, '-l', join(c.dir, 'pg_ctl.log'), '-o', serverArgs(c).map(shellQuote).join(' '), '-w', 'start']);
  return postmasterPid(c)!;
}

export function postmasterPid(c: PgCluster): number | undefined {
  const pidFile = join(c.dataDir, 'postmaster.pid');
  return existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : undefined;
}

/** Polls pg_isready until the server accepts connections, or throws with the wait's length. */
export async function waitReady(c: PgCluster, attempts = 300): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    try {
      execFileSync(join(c.bin, 'pg_isready'), ['-q', '-h', c.socketDir, '-p', String(c.port), '-U', 'postgres'], { stdio: 'ignore' });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`postgres on port ${c.port} not ready after ${attempts} attempts`);
}

const psqlArgs = (c: PgCluster) => ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', c.socketDir, '-p', String(c.port), '-U', 'postgres', '-d', 'postgres'];

/** Runs each statement as its own simple-protocol query in one session; stdout (unaligned, tuples only). */
export function psql(c: PgCluster, ...statements: string[]): string {
  return execFileSync(join(c.bin, 'psql'), [...psqlArgs(c), ...statements.flatMap((s) => ['-c', s])], { encoding: 'utf8' });
}

/** An interactive session: statements are written to psql's stdin as the test goes. */
export interface PgSession {
  send(statement: string): void;
  /** Closes stdin and waits for psql to exit; its stdout. */
  end(): Promise<string>;
  /** Ends psql at once (a failed test's clean-up; a no-op once it has exited). */
  kill(): void;
}

/** A psql session; `name` is its application_name, by which pg_stat_activity finds its backend. */
export function openSession(c: PgCluster, name = 'tapfleet-test'): PgSession {
  const child: ChildProcess = spawn(join(c.bin, 'psql'), psqlArgs(c), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PGAPPNAME: name } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  return {
    send: (statement) => void child.stdin!.write(`${statement}\n`),
    end: async () => {
      child.stdin!.end();
      const code = await exited;
      if (code !== 0) throw new Error(`psql exited ${code}: ${err}`);
      return out;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}

/** Polls `sql` (one value) until `ok` holds for it; returns that value. */
export async function pollUntil(c: PgCluster, sql: string, ok: (value: string) => boolean, attempts = 300): Promise<string> {
  for (let i = 0; i < attempts; i++) {
    const v = psql(c, sql).trim();
    if (ok(v)) return v;
    await sleep(20);
  }
  throw new Error(`never true: ${sql}`);
}

/**
 * Fast shutdown (SIGINT to the postmaster: open transactions roll back, a shutdown checkpoint runs),
 * then waits for the postmaster to be gone; immediate shutdown (SIGQUIT) if it lingers.
 */
export async function stopCluster(c: PgCluster): Promise<void> {
  const pid = postmasterPid(c);
  if (pid === undefined) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false; // Gone.
    }
  };
  if (!signal('SIGINT')) return;
  for (let i = 0; i < 600; i++) {
    if (!existsSync(`/proc/${pid}`)) return;
    await sleep(50);
  }
  signal('SIGQUIT');
}

export function removeCluster(c: PgCluster): void {
  rmSync(c.dir, { recursive: true, force: true });
}
