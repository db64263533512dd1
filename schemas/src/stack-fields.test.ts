import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLayout, LayoutField, publishedLayout, readField, readStack, STACK_TEXT_CUT, stackFieldSize, writeStackText, writeSymbolText } from './event-layout.js';

const layout: EventLayout = {
  id: 3, name: 'hit', size: 40 + 8 + 8 + 8 * 4,
  fields: [{ name: 'n', type: 'u64', offset: 40, size: 8 }, { name: 'k', type: 'kstack', offset: 48, size: stackFieldSize(4) }],
};

test('a stack field is 8 bytes plus 8 a frame, 1 to 127 frames, 8-aligned, after every other field', () => {
  assert.ok(EventLayout.safeParse(layout).success);
  assert.ok(LayoutField.safeParse({ name: 'u', type: 'ustack', offset: 40, size: stackFieldSize(127) }).success);
  assert.ok(!LayoutField.safeParse({ name: 'u', type: 'ustack', offset: 40, size: stackFieldSize(128) }).success);
  assert.ok(!LayoutField.safeParse({ name: 'u', type: 'ustack', offset: 40, size: 12 }).success);
  assert.ok(!LayoutField.safeParse({ name: 'u', type: 'ustack', offset: 44, size: 16 }).success);
  const misordered = { ...layout, fields: [{ name: 'k', type: 'kstack', offset: 40, size: 40 }, { name: 'n', type: 'u64', offset: 80, size: 8 }] };
  assert.match(EventLayout.safeParse(misordered).error!.issues[0]!.message, /stack, symbol and strftime\(\) fields come after every other field/);
});

test('readStack reads the frames bpf_get_stack() copied, or its errno; readField gives the addresses as hex lines', () => {
  const rec = new DataView(new ArrayBuffer(layout.size));
  rec.setBigInt64(48, 16n, true); // two frames copied
  rec.setBigUint64(56, 0xffffffff81000010n, true);
  rec.setBigUint64(64, 0xffffffff81000020n, true);
  assert.deepEqual(readStack(rec, 0, layout.fields[1]!), { frames: [0xffffffff81000010n, 0xffffffff81000020n], error: 0 });
  assert.equal(readField(rec, 0, layout.fields[1]!), '0xffffffff81000010\n0xffffffff81000020');
  rec.setBigInt64(48, -14n, true);
  assert.deepEqual(readStack(rec, 0, layout.fields[1]!), { frames: [], error: 14 });
});

test('the published layout makes each stack a string in place; text past its size is cut at a whole frame, marked', () => {
  const pub = publishedLayout(layout);
  assert.deepEqual(pub.fields, [layout.fields[0], { name: 'k', type: 'str', offset: 48, size: 256, stack: 'kstack' }]);
  assert.equal(pub.size, 48 + 256);
  assert.ok(EventLayout.safeParse(pub).success);
  // Only a published stack's text may be longer than a script's string.
  assert.ok(EventLayout.safeParse(publishedLayout({ ...layout, size: 48 + stackFieldSize(127), fields: [layout.fields[0]!, { name: 'k', type: 'kstack', offset: 48, size: stackFieldSize(127) }] })).success);
  assert.ok(!LayoutField.safeParse({ name: 's', type: 'str', offset: 40, size: 512 }).success);
  assert.ok(!LayoutField.safeParse({ name: 's', type: 'u64', offset: 40, size: 8, stack: 'kstack' }).success);
  const noStacks = { ...layout, size: 48, fields: [layout.fields[0]!] };
  assert.equal(publishedLayout(noStacks), noStacks);

  const out = new Uint8Array(64).fill(0xff);
  writeStackText(out, 8, 32, 'a+1\nb+2');
  assert.equal(new TextDecoder().decode(out.subarray(8, 8 + 7)), 'a+1\nb+2');
  assert.ok(out.subarray(15, 40).every((b) => b === 0));
  assert.equal(out[40], 0xff);
  writeStackText(out, 8, 32, 'frame_one+1\nframe_two+2\nframe_three+3');
  const text = new TextDecoder().decode(out.subarray(8, 40)).replace(/\0+$/, '');
  assert.equal(text, `frame_one+1\n${STACK_TEXT_CUT}`);
});

test('ksym/usym and strftime() fields: 8 bytes after the other fields (before stacks), published as names and times in place', () => {
  const sym: EventLayout = {
    id: 4, name: 'printf_0', size: 40 + 8 + 8 + 8 + stackFieldSize(2),
    fields: [{ name: 'arg2', type: 'u64', offset: 40, size: 8 }, { name: 'arg0', type: 'ksym', offset: 48, size: 8 }, { name: 'arg1', type: 'u64', offset: 56, size: 8, strftime: '%H:%M:%S' }, { name: 'arg3', type: 'ustack', offset: 64, size: stackFieldSize(2) }],
    call: { fn: 'printf', format: '%s %s %s %s', args: ['arg0', 'arg1', 'arg2', 'arg3'] },
  };
  assert.ok(EventLayout.safeParse(sym).success);
  assert.ok(!LayoutField.safeParse({ name: 'k', type: 'ksym', offset: 40, size: 16 }).success);
  assert.ok(!LayoutField.safeParse({ name: 'k', type: 'usym', offset: 44, size: 8 }).success);
  assert.ok(!LayoutField.safeParse({ name: 't', type: 'str', offset: 40, size: 8, strftime: '%H' }).success, 'only an integer holds a time');
  const misordered = { ...sym, fields: [sym.fields[1]!, { ...sym.fields[0]!, offset: 48 }, ...sym.fields.slice(2)] };
  assert.ok(!EventLayout.safeParse(misordered).success);
  const pub = publishedLayout(sym);
  assert.deepEqual(pub.fields.map((f) => [f.name, f.type, f.offset, f.size, f.stack]), [['arg2', 'u64', 40, 8, undefined], ['arg0', 'str', 48, 256, undefined], ['arg1', 'str', 304, 128, undefined], ['arg3', 'str', 432, 128, 'ustack']]);
  assert.ok(EventLayout.safeParse(pub).success);
  const out = new Uint8Array(16).fill(0xff);
  writeSymbolText(out, 0, 8, 'a_long_function_name');
  assert.equal(new TextDecoder().decode(out.subarray(0, 8)), 'a_long_\0');
  assert.equal(out[8], 0xff);
});
