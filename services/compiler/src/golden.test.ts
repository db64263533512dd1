import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { compileFixture } from './test-profile.test-fixtures.js';

const GOLDEN_DIR = join(PROJECT_ROOT, 'test', 'golden');
const update = process.env.TAPFLEET_UPDATE_GOLDEN === '1';

/** Generated C is reviewed like code: any change shows up as a diff of test/golden/*.c. */
for (const tap of readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.tap'))) {
  test(`generated C for ${tap} matches test/golden (TAPFLEET_UPDATE_GOLDEN=1 rewrites)`, () => {
    const r = compileFixture(readFileSync(join(GOLDEN_DIR, tap), 'utf8'), tap);
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
    const goldenPath = join(GOLDEN_DIR, tap.replace(/\.tap$/, '.c'));
    if (update) writeFileSync(goldenPath, r.c!);
    assert.equal(r.c, readFileSync(goldenPath, 'utf8'));
  });
}
