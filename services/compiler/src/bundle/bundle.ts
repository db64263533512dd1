import type { KeyObject } from 'node:crypto';
import { BundleManifest, bundleIdOf, bundleSignedText, parseOrThrow, sha256Hex, type AttachPoint, type BinaryProfile, type KernelProfile, type MapLayout, type UserAction, type Bundle } from '@tapfleet/schemas';
import { aggregationValueSize } from '@tapfleet/schemas';
import type { Stmt } from '../ast.js';
import type { FrontEndResult } from '../compile.js';
import { LIMITS } from '../limits.js';
import { COMPILER_VERSION } from '../version.js';
import { signBytes } from './signing.js';
import { constantArg } from '../passes/printf-check.js';
import { valueMapValueSize } from '../passes/emit-value-maps.js';
import { stackMapName, stackMapsFor } from '../passes/stack-keys.js';

export type { Bundle } from '@tapfleet/schemas';

/** A begin/end/interval body as the actions its owner carries out, in order (the compiler allowed only these). */
function userActions(body: Stmt[]): UserAction[] {
  return body.flatMap((s): UserAction[] => {
    switch (s.kind) {
      case 'print': case 'clear': return [{ op: s.kind, map: s.map }];
      case 'printf': return [{ op: 'printf', format: s.format, args: s.args.map((e) => constantArg(e)!) }];
      case 'exit': return [{ op: 'exit' }];
      default: return [];
    }
  });
}

/** Assembles the manifest from the front end's result and the built object, and signs it. */
export function makeBundle(fe: FrontEndResult, script: string, object: Buffer, kernel: KernelProfile, binaries: BinaryProfile[], key: KeyObject, ringBufferBytes: number = LIMITS.ringBufferBytes): Bundle {
  const attach: AttachPoint[] = fe.programs!.flatMap(({ name, target: t }): AttachPoint[] => {
    switch (t.kind) {
      case 'tracepoint':
        if (t.syscallNr !== undefined) return [{ kind: 'raw_tracepoint', program: name, name: 'sys_enter' }];
        return [{ kind: 'tracepoint', program: name, category: t.category, event: t.event }];
      case 'uprobe': case 'uretprobe': return [{ kind: t.kind, program: name, binary: t.binary, symbol: t.symbol, offset: t.offset }];
      case 'usdt':
        // Direct reads: the same program as a uprobe on every site, the semaphore as its reference counter.
        if (t.direct)
          return t.sites.map((site) => ({ kind: 'uprobe', program: name, binary: t.binary, symbol: `usdt:${t.provider}:${t.name}`, offset: site.fileOffset!, ...(site.semaphoreFileOffset ? { refCtrOffset: site.semaphoreFileOffset } : {}) }));
        return [{ kind: 'usdt', program: name, binary: t.binary, provider: t.provider, name: t.name }];
      case 'profile': return [{ kind: 'perf_event', program: name, sample: t.hz !== undefined ? { hz: t.hz } : { periodNs: t.periodNs! } }];
      default: throw new Error(`no program for a ${t.kind} probe`);
    }
  });
  for (const probe of fe.probes)
    for (const p of probe.points) {
      if (p.target.kind === 'interval') attach.push({ kind: 'interval', periodNs: p.target.periodNs, actions: userActions(probe.body) });
      if (p.target.kind === 'begin' || p.target.kind === 'end') attach.push({ kind: p.target.kind, actions: userActions(probe.body) });
    }
  const maps: MapLayout[] = [...fe.analysis!.maps.values()].map((m) => {
    let at = 0;
    const keyFields = m.keyTypes.map((t, i) => {
      const size = t.kind === 'str' ? Math.ceil(t.size / 8) * 8 : 8;
      const type = t.kind === 'str' ? ('str' as const) : t.kind === 'stack' ? (t.user ? ('ustack' as const) : ('kstack' as const)) : t.signed ? ('i64' as const) : ('u64' as const);
      const f = { name: `k${i}`, type, offset: at, size, ...(t.kind === 'stack' ? { stackMap: stackMapName(t) } : {}) };
      at += size;
      return f;
    });
    if (m.kind === 'value')
      return { name: m.name, kind: m.kind, valueType: m.valueType!.kind === 'int' ? 'i64' : 'str', keySize: keyFields.length ? at : 4, keyFields, valueSize: valueMapValueSize(m), maxEntries: keyFields.length ? LIMITS.maxValueMapEntries : 1 };
    return { name: m.name, kind: m.kind, keySize: keyFields.length ? at : 4, keyFields, valueSize: aggregationValueSize(m.kind, m.lhist), maxEntries: keyFields.length ? LIMITS.maxMapEntries : 1, ...(m.lhist ? { lhist: m.lhist } : {}) };
  });
  const used = new Set(attach.flatMap((a) => ('binary' in a ? [a.binary] : [])));
  const body: Omit<BundleManifest, 'bundleId'> = {
    format: 1,
    scriptDigest: fe.scriptDigest,
    compilerVersion: COMPILER_VERSION,
    kernel: { buildId: kernel.buildId, release: kernel.release },
    binaries: binaries.filter((b) => used.has(b.path)).map((b) => ({ path: b.path, buildId: b.buildId })),
    attach,
    events: [...fe.analysis!.events.values()].map((e) => e.layout),
    maps,
    ...(fe.analysis!.stacks.size ? { stacks: stackMapsFor(fe.analysis!.stacks.values()) } : {}),
    ...(fe.transaction ? { transaction: fe.transaction } : {}),
    limits: { maxStringBytes: LIMITS.maxStringBytes, maxMapEntries: LIMITS.maxMapEntries, maxStatementsPerProbe: LIMITS.maxStatementsPerProbe, ringBufferBytes },
    objectSha256: sha256Hex(object),
  };
  const bundleId = bundleIdOf(body, fe.c!);
  const manifest = parseOrThrow(BundleManifest, { ...body, bundleId }, 'bundle manifest');
  return { manifest, object, script, generatedC: fe.c!, signature: signBytes(bundleSignedText(bundleId), key) };
}
