import { HIST_BUCKETS, histBucketLow, type AggEntry, type MapLayout } from '@tapfleet/schemas';

const utf8 = new TextDecoder();

/** Text of a NUL-terminated string in a bounded buffer. */
function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return utf8.decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

/** Symbolises stack key fields (StackSymbolizer); without one they stay packed ids. */
export interface StackResolver {
  resolve(field: MapLayout['keyFields'][number], packed: bigint): string;
  /** A ksym()/usym() key's address as bpftrace prints it (usym through process `tgid`). */
  symbol(type: 'ksym' | 'usym', addr: bigint, tgid: number): string;
  /** A strftime(FORMAT, ns) key as this host's local time. */
  time(format: string, ns: bigint): string;
}

function decodeKey(layout: MapLayout, key: Uint8Array, stacks?: StackResolver): (bigint | string)[] {
  const v = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return layout.keyFields.map((f) => {
    if ((f.type === 'kstack' || f.type === 'ustack') && stacks) return stacks.resolve(f, v.getBigInt64(f.offset, true));
    if (f.type === 'ksym' || f.type === 'usym') {
      const addr = v.getBigUint64(f.offset, true);
      const tgid = f.type === 'usym' ? Number(v.getBigUint64(f.offset + 8, true) & 0xffffffffn) : 0;
      return stacks ? stacks.symbol(f.type, addr, tgid) : `0x${addr.toString(16)}`;
    }
    if (f.strftime !== undefined) return stacks ? stacks.time(f.strftime, v.getBigUint64(f.offset, true)) : v.getBigUint64(f.offset, true);
    if (f.type === 'str') return cString(key.subarray(f.offset, f.offset + f.size));
    return f.type === 'i64' ? v.getBigInt64(f.offset, true) : v.getBigUint64(f.offset, true);
  });
}

/** Merges the per-CPU copies of one value the runner read (CPU stride = valueSize). */
export function mergePerCpu(layout: MapLayout, value: Uint8Array): Omit<AggEntry, 'key'> {
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const cpus = Math.floor(value.byteLength / layout.valueSize);
  const at = (cpu: number, word: number) => cpu * layout.valueSize + word * 8;
  switch (layout.kind) {
    case 'value':
      // One copy shared by every CPU (a plain hash): nothing to merge.
      return layout.valueType === 'str' ? { value: 0n, text: cString(value.subarray(0, layout.valueSize)) } : { value: v.getBigInt64(0, true) };
    case 'count':
    case 'sum': {
      let sum = 0n;
      for (let c = 0; c < cpus; c++) sum += v.getBigInt64(at(c, 0), true);
      return { value: sum };
    }
    case 'min':
    case 'max': {
      let best: bigint | undefined;
      for (let c = 0; c < cpus; c++) {
        if (v.getBigUint64(at(c, 1), true) === 0n) continue;
        const x = v.getBigInt64(at(c, 0), true);
        if (best === undefined || (layout.kind === 'min' ? x < best : x > best)) best = x;
      }
      return { value: best ?? 0n, count: best === undefined ? 0n : 1n };
    }
    case 'avg':
    case 'stats': {
      let sum = 0n;
      let count = 0n;
      for (let c = 0; c < cpus; c++) {
        sum += v.getBigInt64(at(c, 0), true);
        count += v.getBigUint64(at(c, 1), true);
      }
      return { value: sum, count };
    }
    case 'hist':
    case 'lhist': {
      const n = layout.kind === 'hist' ? HIST_BUCKETS : layout.valueSize / 8;
      const buckets = new Array<bigint>(n).fill(0n);
      for (let c = 0; c < cpus; c++) for (let b = 0; b < n; b++) buckets[b]! += v.getBigUint64(at(c, b), true);
      return { value: buckets.reduce((a, b) => a + b, 0n), buckets };
    }
  }
}

/** Decodes one map's snapshot; with `stacks`, stack key fields become symbol text (see mergeEqualKeys). */
export function decodeSnapshot(layout: MapLayout, entries: { key: Uint8Array; value: Uint8Array }[], stacks?: StackResolver): AggEntry[] {
  return entries.map((e) => ({ key: decodeKey(layout, e.key, stacks), ...mergePerCpu(layout, e.value) }));
}

/** Approximate percentile from a log2 histogram: the upper edge of the bucket holding it. */
export function histPercentile(buckets: bigint[], p: number): bigint {
  const total = buckets.reduce((a, b) => a + b, 0n);
  if (total === 0n) return 0n;
  const rank = BigInt(Math.ceil((p / 100) * Number(total)));
  let seen = 0n;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    if (seen >= rank) return i < 2 ? histBucketLow(i) : (1n << BigInt(i - 1)) - 1n;
  }
  return 0n;
}

/**
 * Merges entries whose decoded keys are equal: symbolised user stacks of two processes of one
 * binary (their keys differ by tgid, their frames do not), merged as the fleet merges hosts.
 */
export function mergeEqualKeys(kind: MapLayout['kind'], entries: AggEntry[]): AggEntry[] {
  const byKey = new Map<string, AggEntry>();
  for (const e of entries) {
    const k = e.key.map(String).join('\u0000');
    const acc = byKey.get(k);
    if (!acc) {
      byKey.set(k, { ...e, ...(e.buckets ? { buckets: [...e.buckets] } : {}) });
      continue;
    }
    switch (kind) {
      case 'count': case 'sum': acc.value += e.value; break;
      case 'avg': case 'stats': acc.value += e.value; acc.count = (acc.count ?? 0n) + (e.count ?? 0n); break;
      case 'min': case 'max':
        // count 0: that copy saw no value, its zero must not win.
        if (!e.count) break;
        if (!acc.count || (kind === 'min' ? e.value < acc.value : e.value > acc.value)) acc.value = e.value;
        acc.count = 1n;
        break;
      case 'hist': case 'lhist':
        acc.value += e.value;
        e.buckets?.forEach((b, i) => (acc.buckets![i] = (acc.buckets![i] ?? 0n) + b));
        break;
    }
  }
  return [...byKey.values()];
}
