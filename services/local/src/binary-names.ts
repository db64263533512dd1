/**
 * bpftrace's bare binary names (`uprobe:libc:malloc`, `uprobe:bash:readline`, `usdt:python3:...`)
 * are paths this host gives: an executable on $PATH first, else a library in the ld.so cache
 * whose name is NAME.so... (libc: /lib/x86_64-linux-gnu/libc.so.6); a relative path (`uprobe:./app:f`)
 * from the current directory. Looked up here, before the
 * compile, and handed to it as binary paths (and so into the compile cache's key); the compiler
 * substitutes them into the points (passes/resolve-aliases.ts).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The bare names a script's user-space points name (a scan of the text: a name in a comment only adds an unused path). */
export function bareBinaryNames(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/(?<![\w/])(?:uprobe|uretprobe|usdt|ur|u|U):([A-Za-z0-9_.][A-Za-z0-9_.+/-]*):/g)) names.add(m[1]!);
  return [...names];
}

/** An ELF file: a script on $PATH (pyenv's python3 shim) is not what a uprobe attaches to, as bpftrace skips it too. */
function isElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

function elfAt(path: string): string | undefined {
  try {
    return statSync(path).isFile() && isElf(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

function executableOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (!dir.startsWith('/')) continue;
    const path = join(dir, name);
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, constants.X_OK);
      if (isElf(path)) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** ld.so cache entries of this host's word size, in the cache's order: `libc.so.6 (libc6,x86-64) => /lib/...`. */
function ldCache(): { soname: string; path: string }[] {
  const r = ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig'].map((cmd) => spawnSync(cmd, ['-p'], { encoding: 'utf8' })).find((x) => x.status === 0);
  if (!r) return [];
  const arch = process.arch === 'x64' ? 'x86-64' : process.arch === 'arm64' ? 'AArch64' : undefined;
  return r.stdout.split('\n').flatMap((line) => {
    const m = /^\s+(\S+) \(([^)]*)\) => (\/\S+)$/.exec(line);
    return m && (!arch || m[2]!.includes(arch)) ? [{ soname: m[1]!, path: m[3]! }] : [];
  });
}

/** `binaryPaths` with the script's bare names added, as this host resolves them (a --binary NAME=PATH given wins). */
export function withBareBinaryNames(text: string, binaryPaths: Record<string, string>): Record<string, string> {
  const names = bareBinaryNames(text).filter((n) => !(n in binaryPaths));
  if (names.length === 0) return binaryPaths;
  const out = { ...binaryPaths };
  let cache: { soname: string; path: string }[] | undefined;
  for (const name of names) {
    // A relative path (sub/bin, ./bin, ../lib/x.so) is the file from the current directory, as bpftrace opens it.
    const path = name.includes('/') ? elfAt(resolve(name)) : (executableOnPath(name) ?? (cache ??= ldCache()).find((e) => e.soname.startsWith(`${name}.so`))?.path);
    if (path) out[name] = path;
  }
  return out;
}
