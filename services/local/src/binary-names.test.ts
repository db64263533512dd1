import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { bareBinaryNames, withBareBinaryNames } from './binary-names.js';

test('the bare names of user-space points, not paths, $names or other kinds', () => {
  assert.deepEqual(bareBinaryNames('uprobe:libc:malloc, ur:bash:readline { } usdt:/usr/bin/python3:python:gc__start { } uprobe:$pg:f { } tracepoint:sched:sched_switch { }'), ['libc', 'bash']);
});

test('bpftrace 0.17\'s lookup: an ELF executable on $PATH, else the ld.so cache entry NAME.so*; a --binary path wins', () => {
  const paths = withBareBinaryNames('uprobe:libc:getaddrinfo { } uprobe:bash:readline { } uprobe:no_such_name_xyz:f { }', {});
  assert.match(paths['libc']!, /\/libc\.so\.6$/);
  assert.equal(readFileSync(paths['bash']!).subarray(0, 4).toString('latin1'), '\x7fELF');
  assert.equal(paths['no_such_name_xyz'], undefined);
  assert.deepEqual(withBareBinaryNames('uprobe:libc:f { }', { libc: '/opt/libc.so' }), { libc: '/opt/libc.so' });
});

test('a relative path (sub/bin, ./sub/bin, ../dir/sub/bin) is the ELF file from the current directory, as bpftrace opens it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-binnames-'));
  const cwd = process.cwd();
  try {
    mkdirSync(join(dir, 'sub'));
    copyFileSync('/bin/true', join(dir, 'sub', 'mytrue'));
    writeFileSync(join(dir, 'sub', 'script'), '#!/bin/sh\n', { mode: 0o755 });
    process.chdir(dir);
    const text = `uprobe:sub/mytrue:main { } ur:./sub/mytrue:main { } u:../${basename(dir)}/sub/mytrue:main { } uprobe:sub/script:f { } uprobe:sub/nope:f { }`;
    assert.deepEqual(bareBinaryNames(text), ['sub/mytrue', './sub/mytrue', `../${basename(dir)}/sub/mytrue`, 'sub/script', 'sub/nope']);
    const binary = join(realpathSync(dir), 'sub', 'mytrue');
    assert.deepEqual(withBareBinaryNames(text, {}), { 'sub/mytrue': binary, './sub/mytrue': binary, [`../${basename(dir)}/sub/mytrue`]: binary });
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});
