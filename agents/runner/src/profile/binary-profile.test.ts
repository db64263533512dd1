import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfError, readBinaryProfile } from './binary-profile.js';

// `tapfleet run -e 'uprobe:/dev/zero:main { }'` read /dev/zero until 6.6 GB of RSS, a FIFO hung the
// open for good: a binary is a regular file, and anything else is one error before it is opened.
test('a probe point\'s binary that is no regular file (a device, a FIFO) is an ElfError, not read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-binary-profile-'));
  try {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const path of ['/dev/zero', fifo]) assert.throws(() => readBinaryProfile(path), (e: Error) => e instanceof ElfError && e.message === `${path} is not a regular file`, path);
    assert.throws(() => readBinaryProfile(dir), (e: Error) => e instanceof ElfError && e.message === `${dir} is not a regular file`);
    assert.throws(() => readBinaryProfile(join(dir, 'none')), (e: Error) => e instanceof ElfError && /cannot read .*: ENOENT/.test(e.message));
    assert.equal(readBinaryProfile('/bin/bash').path, '/bin/bash', 'a binary is read as before');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
