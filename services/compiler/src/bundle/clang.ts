import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { CLANG_BRACKET_DEPTH } from '../limits.js';
import { BPF_INCLUDE_DIRS, bpfHeadersDigest } from './bpf-headers.js';

export class BuildError extends Error {
  readonly code: string = 'TAPFLEET_BUILD';
  constructor(message: string, readonly stderr = '') {
    super(message);
  }
}

/** clang (or llvm-strip) ran past its time allowance and was killed with its whole process group. */
export class BuildTimeoutError extends BuildError {
  override readonly code = 'TAPFLEET_BUILD_TIMEOUT';
  constructor(readonly tool: string, readonly timeoutMs: number) {
    super(`${tool} did not finish within ${timeoutMs} ms and was stopped`);
  }
}

export interface BuildOptions {
  /** The clang binary; tests point it at a stand-in. Default `clang` from PATH. */
  clang?: string;
  /** Wall time one build may take (clang and llvm-strip together). Default 60 s. */
  timeoutMs?: number;
}

export const DEFAULT_CLANG_TIMEOUT_MS = 60_000;

/**
 * Runs one tool in a process group of its own, so a timeout kills clang's children
 * (cc1) too, not just the driver. Resolves with stderr; rejects with BuildError.
 */
function runTool(file: string, args: string[], cwd: string, deadline: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      if (stderr.length < 64 << 10) stderr += c.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, Math.max(0, deadline - Date.now()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new BuildError(`cannot run ${file}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new BuildTimeoutError(file, timeoutMs));
      else if (code === 0) resolve(stderr);
      else reject(new BuildError(`${file} failed (${signal ?? `exit ${code}`})`, stderr));
    });
  });
}

/**
 * clang -O2 -g -target bpf, then llvm-strip -g (objects shrink ~20x and still load:
 * BTF stays). The build directory is named by the source and headers' digest and mapped to
 * `.`, the header directories to fixed names, so the object does not depend on where it was
 * built: same C and headers, same bytes.
 */
export async function buildBpfObject(c: string, options: BuildOptions = {}): Promise<Buffer> {
  const digest = createHash('sha256').update(c).update(bpfHeadersDigest()).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'tapfleet-build', digest);
  mkdirSync(dir, { recursive: true });
  const src = join(dir, 'probe.bpf.c');
  const obj = join(dir, 'probe.bpf.o');
  writeFileSync(src, c);
  const arch = process.arch === 'arm64' ? 'arm64' : 'x86';
  const multiarch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  const timeoutMs = options.timeoutMs ?? DEFAULT_CLANG_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  await runTool(options.clang ?? 'clang', ['-O2', '-g', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, `-I/usr/include/${multiarch}`, ...BPF_INCLUDE_DIRS.flatMap((h) => [`-I${h.dir}`, `-fdebug-prefix-map=${h.dir}=${h.as}`]), `-fdebug-prefix-map=${dir}=.`, `-fbracket-depth=${CLANG_BRACKET_DEPTH}`, '-Wno-unused-value', '-c', 'probe.bpf.c', '-o', 'probe.bpf.o'], dir, deadline, timeoutMs);
  await runTool('llvm-strip', ['-g', obj], dir, deadline, timeoutMs);
  return readFileSync(obj);
}
