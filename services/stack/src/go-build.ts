import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

/** A Go tool the setup builds could not be built (or fetched). */
export class GoBuildError extends Error {
  readonly code: 'GO_MISSING' | 'BUILD_FAILED' | 'CHECKSUM_MISMATCH';
  constructor(code: GoBuildError['code'], message: string) {
    super(message);
    this.name = 'GoBuildError';
    this.code = code;
  }
}

export function goVersion(): string | undefined {
  const r = spawnSync('go', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Refuses early, saying what to install, when there is no Go to build `what` with. */
export function requireGo(what: string): string {
  const go = goVersion();
  if (go === undefined)
    throw new GoBuildError('GO_MISSING', `Go is not installed (no 'go' on PATH): tapfleet builds ${what} from source once; install Go 1.21 or newer (https://go.dev/dl/; it fetches the toolchain a module needs by itself) and run \`tapfleet setup\` again`);
  return go;
}

/**
 * `go ARGS` in a pinning module directory: its go.sum is checked (the default -mod=readonly),
 * never rewritten. Resolves with stdout; rejects with the tail of stderr.
 */
export function runGo(args: string[], moduleDir: string, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const child = spawn('go', args, { cwd: moduleDir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-8192); });
    child.on('error', (e) => reject(new GoBuildError('BUILD_FAILED', `go ${args[0]} could not start: ${e.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) return resolve(stdout);
      const tail = stderr.trim().split('\n').slice(-15).join('\n');
      reject(new GoBuildError('BUILD_FAILED', `${what}: go ${args[0]} exited ${code ?? signal} in ${moduleDir}:\n${tail}`));
    });
  });
}

export interface GoBinaryBuild {
  /** The module (go.mod + go.sum, committed) that pins the package and every dependency. */
  moduleDir: string;
  /** Package path to build, e.g. helm.sh/helm/v3/cmd/helm or ./manifest-check. */
  pkg: string;
  binary: string;
  ldflags?: string;
  /** For messages: "helm v3.22.0". */
  what: string;
}

/**
 * Builds one binary unless it exists. Written under a temporary name and renamed, so an
 * interrupted build never leaves a half-written binary that the next run would trust.
 */
export async function buildGoBinary(b: GoBinaryBuild): Promise<boolean> {
  if (existsSync(b.binary)) return false;
  requireGo(b.what);
  mkdirSync(dirname(b.binary), { recursive: true });
  const partial = `${b.binary}.partial-${process.pid}`;
  try {
    await runGo(['build', '-trimpath', ...(b.ldflags ? [`-ldflags=${b.ldflags}`] : []), '-o', partial, b.pkg], b.moduleDir, `building ${b.what}`);
    renameSync(partial, b.binary);
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  }
  return true;
}
