import { execFileSync, spawnSync } from 'node:child_process';
import type { Logger } from '@tapfleet/runtime';

/** Everything tapfleet needs from Debian: the stack's servers and the runner's toolchain. */
export const STACK_PACKAGES = ['nats-server', 'redis-server', 'clickhouse-server', 'clickhouse-client'];
/** The query service's web page is tested in a real browser (playwright-core drives it; it downloads none). */
export const BROWSER_PACKAGES = ['chromium'];
/**
 * The tapsets' kernel tests: the PostgreSQL tapset against a throwaway cluster of Debian's server
 * (its build has the USDT probes); the syscall/sched/TCP/block and Python tapsets' workloads run python3;
 * printf() output is compared with bpftrace's on the same workload, and the run-queue latency test
 * runs bpftrace next to tapfleet and compares their histograms.
 */
export const TAPSET_TEST_PACKAGES = ['postgresql', 'python3', 'bpftrace'];
/** The TLS tests make their own CA and certificates with the openssl command. */
export const TLS_TEST_PACKAGES = ['openssl'];
/**
 * kstack/ustack are checked side by side with bpftrace on the same workload (and the bench's
 * probe costs run it); libc's detached symbols let both name libc's local functions.
 */
export const STACK_TEST_PACKAGES = ['bpftrace', 'libc6-dbg'];
export const BUILD_PACKAGES = ['clang', 'llvm', 'libbpf-dev', 'bpftool', 'libelf-dev', 'zlib1g-dev', 'systemtap-sdt-dev', 'pkg-config', 'gcc', 'make'];

export function missingPackages(packages: readonly string[]): string[] {
  const result = spawnSync('dpkg-query', ['-W', '-f', '${Package} ${db:Status-Status}\n', ...packages], { encoding: 'utf8' });
  const installed = new Set(
    result.stdout
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0]),
  );
  return packages.filter((p) => !installed.has(p));
}

/**
 * Installs whatever of `packages` is missing with apt-get; silent when nothing is.
 * Services must not start as a side effect of installing: policy-rc.d says no.
 */
export function ensureDebianPackages(packages: readonly string[], log: Logger): void {
  const missing = missingPackages(packages);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0)
    throw new Error(`missing Debian packages: ${missing.join(' ')}; install them (sudo apt-get install ${missing.join(' ')}) or run as root`);
  log.info({ packages: missing }, 'installing missing Debian packages');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const still = missingPackages(missing);
  if (still.length) throw new Error(`apt-get did not install: ${still.join(' ')}`);
}
