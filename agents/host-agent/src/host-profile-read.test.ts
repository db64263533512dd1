import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { kernelBuildId, readBinaryProfile } from '@tapfleet/runner';
import { BinaryProfile, canonicalJson, KernelProfile, sha256Hex } from '@tapfleet/schemas';
import { readHostProfiles } from './host-profile-read.js';

test('host profiles are read in a child process: digests and summaries match the bodies it sends', async () => {
  const node = process.execPath;
  const r = await readHostProfiles({ binaries: { node } });
  const kernelJson = gunzipSync(r.kernel.body).toString('utf8');
  const kernel = KernelProfile.parse(JSON.parse(kernelJson));
  assert.equal(sha256Hex(kernelJson), r.kernel.profileDigest);
  assert.equal(canonicalJson(kernel), kernelJson);
  assert.equal(r.kernel.buildId, kernelBuildId());
  assert.deepEqual({ buildId: kernel.buildId, release: kernel.release, version: kernel.version, arch: kernel.arch }, { buildId: r.kernel.buildId, release: r.kernel.release, version: r.kernel.version, arch: r.kernel.arch });
  assert.ok(Object.keys(kernel.tracepoints).length > 100, 'every tracepoint format');

  assert.equal(r.binaries.length, 1);
  const [bin] = r.binaries;
  const binJson = gunzipSync(bin!.body).toString('utf8');
  assert.equal(sha256Hex(binJson), bin!.profileDigest);
  assert.deepEqual(BinaryProfile.parse(JSON.parse(binJson)), readBinaryProfile(node));
  assert.deepEqual({ name: bin!.name, path: bin!.path, buildId: bin!.buildId }, { name: 'node', path: node, buildId: readBinaryProfile(node).buildId });
});

test('a profile that cannot be read rejects with the reader\'s reason', async () => {
  await assert.rejects(readHostProfiles({ binaries: { missing: '/nonexistent/binary' } }), /cannot read \/nonexistent\/binary/);
});
