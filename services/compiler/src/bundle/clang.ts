import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class BuildError extends Error {
  readonly code = 'TAPFLEET_BUILD';
}

/**
 * clang -O2 -g -target bpf, then llvm-strip -g (objects shrink ~20x and still load:
 * BTF stays). The build directory is named by the source digest and mapped to `.`
 * so the object does not depend on where it was built: same C, same bytes.
 */
export async function buildBpfObject(c: string): Promise<Buffer> {
  const digest = createHash('sha256').update(c).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'tapfleet-build', digest);
  mkdirSync(dir, { recursive: true });
  const src = join(dir, 'probe.bpf.c');
  const obj = join(dir, 'probe.bpf.o');
  writeFileSync(src, c);
  const arch = process.arch === 'arm64' ? 'arm64' : 'x86';
  const multiarch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  try {
    await run('clang', ['-O2', '-g', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, `-I/usr/include/${multiarch}`, `-fdebug-prefix-map=${dir}=.`, '-Wno-unused-value', '-c', 'probe.bpf.c', '-o', 'probe.bpf.o'], { cwd: dir, maxBuffer: 16 << 20 });
    await run('llvm-strip', ['-g', obj]);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new BuildError(`clang failed on generated code (a compiler bug: please report it with the script):\n${err.stderr ?? err.message}`);
  }
  return readFileSync(obj);
}
