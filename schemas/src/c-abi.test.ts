import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { C_ABI_INCLUDE_DIR } from './c-abi.js';
import { EVENT_PREFIX, EVENT_PREFIX_SIZE, type LayoutField } from './event-layout.js';

const header = readFileSync(join(C_ABI_INCLUDE_DIR, 'tapfleet-abi.h'), 'utf8');

/** The members of `struct NAME { ... };` as layout fields, laid out as C does (each member at its natural alignment). */
function structFields(name: string): { fields: LayoutField[]; size: number } {
  const body = new RegExp(`struct ${name} \\{([^}]*)\\};`).exec(header)?.[1];
  assert.ok(body, `struct ${name} in tapfleet-abi.h`);
  let at = 0;
  let align = 1;
  const fields = body.split(';').map((m) => m.trim()).filter(Boolean).map((m): LayoutField => {
    const str = /^char (\w+)\[(\d+)\]$/.exec(m);
    if (str) {
      const f: LayoutField = { name: str[1]!, type: 'str', offset: at, size: Number(str[2]) };
      at += f.size;
      return f;
    }
    const int = /^__([us])(8|16|32|64) (\w+)$/.exec(m);
    assert.ok(int, `a member of struct ${name} this test can read: ${m}`);
    const size = Number(int[2]) / 8;
    at = Math.ceil(at / size) * size;
    align = Math.max(align, size);
    const f: LayoutField = { name: int[3]!, type: `${int[1] === 'u' ? 'u' : 'i'}${int[2]}` as LayoutField['type'], offset: at, size };
    at += size;
    return f;
  });
  return { fields, size: Math.ceil(at / align) * align };
}

test('struct tf_prefix in tapfleet-abi.h is EVENT_PREFIX: the record header generated programs write and decoders read', () => {
  const { fields, size } = structFields('tf_prefix');
  assert.deepEqual(fields, EVENT_PREFIX);
  assert.equal(size, EVENT_PREFIX_SIZE);
});
