import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { buildGoBinary, GoBuildError } from '@tapfleet/stack';

const HELM_TOOLS = join(PROJECT_ROOT, 'services', 'stack', 'helm-tools');

test('without Go, building a chart tool says what to install and leaves no binary behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-go-build-'));
  const binary = join(dir, 'manifest-check');
  const path = process.env.PATH;
  process.env.PATH = dir; // no `go` there
  try {
    await assert.rejects(buildGoBinary({ moduleDir: HELM_TOOLS, pkg: './manifest-check', binary, what: 'manifest-check' }), (e: unknown) => {
      assert.ok(e instanceof GoBuildError);
      assert.equal(e.code, 'GO_MISSING');
      assert.match(e.message, /^Go is not installed \(no 'go' on PATH\): tapfleet builds manifest-check from source once/);
      return true;
    });
  } finally {
    process.env.PATH = path;
  }
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
  rmSync(dir, { recursive: true, force: true });
});

test('a package that does not build fails with go\'s own words and leaves no partial binary', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-go-build-'));
  const binary = join(dir, 'nothing');
  try {
    await assert.rejects(buildGoBinary({ moduleDir: HELM_TOOLS, pkg: './no-such-package', binary, what: 'a missing package' }), (e: unknown) => {
      assert.ok(e instanceof GoBuildError);
      assert.equal(e.code, 'BUILD_FAILED');
      assert.match(e.message, /^building a missing package: go build exited 1 in .*helm-tools:\n.*no-such-package/s);
      return true;
    });
    assert.deepEqual(readdirSync(dir), [], 'no binary, no partial one');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
