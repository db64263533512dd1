import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

test('every script the web page loads imports only URLs the query service serves: a browser cannot resolve a package name', () => {
  const scripts = [join(here, 'format.js'), ...readdirSync(join(here, '..', 'web')).filter((f) => f.endsWith('.js')).map((f) => join(here, '..', 'web', f))];
  assert.ok(scripts.length >= 4, scripts.join(', '));
  for (const file of scripts) {
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/gm), ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
    for (const s of specifiers) assert.match(s, /^(\.\/|\/)[\w./-]+\.js$/, `${file} imports ${s}`);
  }
  // format.js in particular: the CLI's formatting, served as it is compiled, with nothing to resolve.
  assert.doesNotMatch(readFileSync(join(here, 'format.js'), 'utf8'), /\bimport\b/);
});
