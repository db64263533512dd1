import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PREFIX_FIELD, publishedManifest, readField, stackFieldSize, type BundleManifest, type EventLayout } from '@tapfleet/schemas';
import { EventStacks, StackPublisher } from './event-stacks.js';

const kernel = () => ({ frame: (ip: bigint) => `fn_${ip.toString(16)}+0` });
const hit: EventLayout = {
  id: 1, name: 'hit', size: 48 + stackFieldSize(3) + stackFieldSize(2),
  fields: [{ name: 'n', type: 'u64', offset: 40, size: 8 }, { name: 'k', type: 'kstack', offset: 48, size: stackFieldSize(3) }, { name: 'u', type: 'ustack', offset: 80, size: stackFieldSize(2) }],
};
const plain: EventLayout = { id: 0, name: 'plain', size: 48, fields: [{ name: 'n', type: 'u64', offset: 40, size: 8 }] };
const manifest = { events: [plain, hit] } as unknown as BundleManifest;

function record(): Uint8Array {
  const d = new Uint8Array(hit.size);
  const v = new DataView(d.buffer);
  v.setUint32(PREFIX_FIELD.event_id.offset, 1, true);
  v.setUint32(PREFIX_FIELD.pid.offset, 0x7fffffff, true); // no such process: user frames stay hex
  v.setBigUint64(40, 42n, true);
  v.setBigInt64(48, 16n, true);
  v.setBigUint64(56, 0xabcn, true);
  v.setBigUint64(64, 0xdefn, true);
  v.setBigInt64(80, 8n, true);
  v.setBigUint64(88, 0x401000n, true);
  return d;
}

test('EventStacks names kernel frames by kallsyms, user frames by the process mappings (hex when gone); EFAULT is an empty stack', () => {
  const stacks = new EventStacks(kernel);
  const d = record();
  const v = new DataView(d.buffer);
  assert.equal(stacks.text(v, 0, hit.fields[1]!), 'fn_abc+0\nfn_def+0');
  assert.equal(stacks.text(v, 0, hit.fields[2]!), '0x401000');
  v.setBigInt64(48, -14n, true);
  assert.equal(stacks.text(v, 0, hit.fields[1]!), '');
  v.setBigInt64(48, -12n, true);
  assert.match(stacks.text(v, 0, hit.fields[1]!), /errno 12/);
});

test('StackPublisher rewrites a record with stacks into its published layout (text in place of frames); others pass as they are', () => {
  const pub = new StackPublisher(manifest, new EventStacks(kernel));
  assert.ok(pub.needed);
  const out = pub.publish(record());
  const layout = publishedManifest(manifest).events[1]!;
  assert.equal(out.length, layout.size);
  const v = new DataView(out.buffer);
  assert.equal(v.getUint32(PREFIX_FIELD.event_id.offset, true), 1);
  assert.deepEqual(layout.fields.map((f) => readField(v, 0, f)), [42n, 'fn_abc+0\nfn_def+0', '0x401000']);
  const other = new Uint8Array(plain.size);
  assert.equal(pub.publish(other), other);
  assert.equal(new StackPublisher({ events: [plain] } as unknown as BundleManifest).needed, false);
});

test('ksym/usym fields: the symbol without its offset (hex when none holds it), published in place as a name', () => {
  const sym: EventLayout = { id: 2, name: 'printf_0', size: 64, fields: [{ name: 'arg1', type: 'u64', offset: 40, size: 8 }, { name: 'arg0', type: 'ksym', offset: 48, size: 8 }, { name: 'arg2', type: 'usym', offset: 56, size: 8 }] };
  const d = new Uint8Array(sym.size);
  const v = new DataView(d.buffer);
  v.setUint32(PREFIX_FIELD.event_id.offset, 2, true);
  v.setUint32(PREFIX_FIELD.pid.offset, 0x7fffffff, true); // no such process: the user address stays hex
  v.setBigUint64(40, 7n, true);
  v.setBigUint64(48, 0xabcn, true);
  v.setBigUint64(56, 0x401000n, true);
  const stacks = new EventStacks(() => ({ frame: (ip: bigint) => `fn_${ip.toString(16)}+12` }));
  assert.equal(stacks.text(v, 0, sym.fields[1]!), 'fn_abc');
  assert.equal(stacks.text(v, 0, sym.fields[2]!), '0x401000');
  const publisher = new StackPublisher({ events: [sym] } as unknown as BundleManifest, stacks);
  const out = publisher.publish(d);
  const [pub] = publishedManifest({ events: [sym] } as unknown as BundleManifest).events;
  const ov = new DataView(out.buffer, out.byteOffset, out.byteLength);
  assert.equal(out.length, pub!.size);
  assert.deepEqual(pub!.fields.map((f) => readField(ov, 0, f)), [7n, 'fn_abc', '0x401000']);
});

test('ksym(0) and usym(0) print 0, as bpftrace 0.17 prints a null address (other unknown addresses stay hex)', () => {
  const sym: EventLayout = { id: 2, name: 'printf_0', size: 64, fields: [{ name: 'arg0', type: 'ksym', offset: 48, size: 8 }, { name: 'arg1', type: 'usym', offset: 56, size: 8 }] };
  const v = new DataView(new Uint8Array(sym.size).buffer);
  v.setUint32(PREFIX_FIELD.pid.offset, 0x7fffffff, true);
  const stacks = new EventStacks(() => ({ frame: (ip: bigint) => `0x${ip.toString(16)}` }));
  assert.equal(stacks.text(v, 0, sym.fields[0]!), '0');
  assert.equal(stacks.text(v, 0, sym.fields[1]!), '0');
  v.setBigUint64(48, 0x400000n, true);
  assert.equal(stacks.text(v, 0, sym.fields[0]!), '0x400000');
});
