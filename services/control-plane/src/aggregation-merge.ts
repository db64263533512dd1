import { stackKeysOf, type AggregationEntry, type AggregationSnapshot, type AggregationsView, type MapLayout } from '@tapfleet/schemas';

interface Acc {
  key: string[];
  value: bigint;
  count: bigint;
  buckets?: bigint[];
  seen: boolean;
}

function fold(kind: Exclude<MapLayout['kind'], 'value'>, acc: Acc, e: AggregationEntry): void {
  const value = BigInt(e.value);
  const count = BigInt(e.count ?? '0');
  switch (kind) {
    case 'count':
    case 'sum':
      acc.value += value;
      break;
    case 'avg':
    case 'stats':
      acc.value += value;
      acc.count += count;
      break;
    case 'min':
    case 'max':
      // count 0 means the host saw no value for this key: it must not win with its zero.
      if (count === 0n) break;
      if (!acc.seen || (kind === 'min' ? value < acc.value : value > acc.value)) acc.value = value;
      acc.count = 1n;
      acc.seen = true;
      break;
    case 'hist':
    case 'lhist': {
      const b = (e.buckets ?? []).map(BigInt);
      acc.buckets ??= new Array<bigint>(b.length).fill(0n);
      b.forEach((x, i) => (acc.buckets![i] = (acc.buckets![i] ?? 0n) + x));
      acc.value += value;
      break;
    }
  }
}

/**
 * A value map's entries are host-local state (a thread's start time, a pid's last command):
 * adding them across hosts means nothing, so each host keeps its rows, its host id first in the key.
 */
function perHostRows(layout: MapLayout, snapshots: AggregationSnapshot[]): AggregationEntry[] {
  return [...snapshots]
    .sort((a, b) => a.hostId.localeCompare(b.hostId))
    .flatMap((s) => (s.maps.find((m) => m.name === layout.name)?.entries ?? []).map((e) => ({ ...e, key: [s.hostId, ...e.key] })));
}

/**
 * Merges the latest snapshot of every host into one view per map: sums add, extremes compete,
 * histograms add bucket-wise, value maps stay per host.
 */
export function mergeSnapshots(deploymentId: string, layouts: MapLayout[], snapshots: AggregationSnapshot[]): AggregationsView {
  const maps = layouts.map((layout) => {
    if (layout.kind === 'value') return { name: layout.name, kind: layout.kind, entries: perHostRows(layout, snapshots) };
    const byKey = new Map<string, Acc>();
    for (const s of snapshots)
      for (const e of s.maps.find((m) => m.name === layout.name)?.entries ?? []) {
        const k = e.key.join('\u0000');
        let acc = byKey.get(k);
        if (!acc) byKey.set(k, (acc = { key: e.key, value: 0n, count: 0n, seen: false }));
        fold(layout.kind as Exclude<MapLayout['kind'], 'value'>, acc, e);
      }
    const entries: AggregationEntry[] = [...byKey.values()].map((a) => ({
      key: a.key,
      value: String(a.value),
      ...(layout.kind === 'avg' || layout.kind === 'stats' || layout.kind === 'min' || layout.kind === 'max' ? { count: String(a.count) } : {}),
      ...(a.buckets ? { buckets: a.buckets.map(String) } : {}),
    }));
    // Agents symbolised stack keys before publishing: the same stack on two hosts is one key here.
    const stackKeys = stackKeysOf(layout);
    return { name: layout.name, kind: layout.kind, ...(layout.lhist ? { lhist: layout.lhist } : {}), ...(stackKeys.length ? { stackKeys } : {}), entries };
  });
  return { deploymentId, hosts: snapshots.map((s) => s.hostId).sort(), maps };
}
