import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { loadTapsetFiles } from './tapsets.js';
import { TAPSET_DOC_PATH, tapsetMarkdown } from './tapset-doc.js';

describe('docs/tapsets.md', () => {
  test('is what tapsets/*.tap generate (run `node bin/tapfleet.js tapsets doc` after editing a tapset)', () => {
    const { files, diagnostics } = loadTapsetFiles();
    assert.deepEqual(diagnostics.map((d) => d.message), []);
    assert.equal(readFileSync(join(PROJECT_ROOT, TAPSET_DOC_PATH), 'utf8'), tapsetMarkdown(files), `${TAPSET_DOC_PATH} is stale: run node bin/tapfleet.js tapsets doc`);
  });

  test('lists each alias version with its points, pair keys, bound locals and doc line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapset-doc-'));
    try {
      writeFileSync(join(dir, 'x.tap'), [
        '# The x tapset.',
        '',
        '# Old x.',
        'alias x.y = tracepoint:a:b | tracepoint:a:c { $v = args.v; }',
        '',
        '# New x: waits from b to d.',
        'alias x.y@2 = tracepoint:a:d key args.k pairs tracepoint:a:b key args.j { $v = @entry(args.v); $w = args.w; }',
        '',
      ].join('\n'));
      const md = tapsetMarkdown(loadTapsetFiles(dir).files);
      assert.match(md, /## x \(`tapsets\/x\.tap`\)\n\nThe x tapset\.\n/);
      assert.ok(md.includes('| `x.y` | 1 | `tracepoint:a:b`, else `tracepoint:a:c` | `$v` | Old x. |'), md);
      assert.ok(md.includes('| `x.y` | 2 | `tracepoint:a:d` `key args.k`, paired with `tracepoint:a:b` `key args.j` | `$v` (at the start), `$w`, `latency` | New x: waits from b to d. |'), md);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
