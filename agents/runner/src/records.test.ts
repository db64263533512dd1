import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REC, RECORD_HEADER_BYTES } from './records.js';

/** native/records.h, the runner's half of the framing: read as text, so a change to either half that the other lacks fails here. */
const header = readFileSync(fileURLToPath(new URL('../native/records.h', import.meta.url)), 'utf8');

test('records.h and records.ts give every record type the same id', () => {
  const body = /enum tf_record_type \{([^}]*)\}/.exec(header)?.[1];
  assert.ok(body, 'enum tf_record_type in records.h');
  const fromC = Object.fromEntries([...body.matchAll(/TF_REC_(\w+) = (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
  assert.deepEqual(fromC, { ...REC });
});

test('records.h and records.ts agree on the record header: u32 length, u16 type, u16 reserved', () => {
  const body = /struct tf_record_header \{([^}]*)\}/.exec(header)?.[1];
  assert.ok(body, 'struct tf_record_header in records.h');
  const members = [...body.matchAll(/uint(\d+)_t (\w+);/g)].map((m) => [m[2], Number(m[1]) / 8]);
  assert.deepEqual(members, [['len', 4], ['type', 2], ['reserved', 2]]);
  assert.equal(members.reduce((n, [, size]) => n + (size as number), 0), RECORD_HEADER_BYTES);
});
