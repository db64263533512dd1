import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLayout, LayoutField, publishedLayout, readField, readStack, STACK_TEXT_CUT, stackFieldSize, writeStackText } from './event-layout.js';

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
  assert.match(EventLayout.safeParse(misordered).error!.issues[0]!.message, /stack fields come after every other field/);
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
