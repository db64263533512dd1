import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
