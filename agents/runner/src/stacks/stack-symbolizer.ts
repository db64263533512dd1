import { hasHostKey, unpackStackKey, type BundleManifest, type MapLayout, type StackMap } from '@tapfleet/schemas';
import { KernelSymbols } from './kernel-symbols.js';
import { UserSymbols } from './user-symbols.js';
import { hostTime } from './host-time.js';

/**
 * A frame as ksym()/usym() print its address (bpftrace 0.17, seen side by side): the symbol
 * without its offset, or the 0x-hex address when no symbol holds it; a null address is 0, as
 * bpftrace 0.17 prints it (a (void *)0 through an ostream).
 */
export const symbolName = (frame: string): string => (frame === '0x0' ? '0' : frame.replace(/\+\d+$/, ''));

/** What a stack key whose stack the kernel could not keep prints as (bpftrace prints nothing). */
export const LOST_STACK_PREFIX = '[stack lost: ';

/** A symbolised stack as a key: frames leaf first, one a line; '' when the probe had no such stack. */
function lostFrame(stackId: number): string {
  switch (stackId) {
    case -14: return ''; // EFAULT: e.g. kstack of a sample taken in user mode: bpftrace's empty stack
    case -17: return `${LOST_STACK_PREFIX}its hash bucket in the stack map was taken (EEXIST)]`;
    case -12: return `${LOST_STACK_PREFIX}the stack map was full (ENOMEM)]`;
    default: return `${LOST_STACK_PREFIX}errno ${-stackId}]`;
  }
}

let kernel: KernelSymbols | undefined;
/** /proc/kallsyms is read once per process, the first time a kernel stack is symbolised. */
export const kernelSymbols = () => (kernel ??= KernelSymbols.load());

const MAX_CACHED_STACKS = 65_536;

/**
 * The symbolizer a bundle's maps need: for its stack maps, and for ksym()/usym()/strftime() keys
 * with no stack map; none when no key is named on the host.
 */
export function symbolizerFor(manifest: BundleManifest): StackSymbolizer | undefined {
  return manifest.stacks?.length || manifest.maps.some(hasHostKey) ? new StackSymbolizer(manifest.stacks ?? []) : undefined;
}

/**
 * Turns stack key fields into symbol strings on the host the stacks were taken on. Fed each
 * snapshot's stack maps (the runner writes them before the aggregations keyed by them);
 * stack ids are stable (no id is reused while the bundle runs), so each is symbolised once.
 */
export class StackSymbolizer {
  private readonly tables = new Map<string, Map<number, bigint[]>>();
  private readonly cache = new Map<string, string>();
  private readonly user = new UserSymbols();

  constructor(
    private readonly stackMaps: StackMap[],
    private readonly kernelFrames: () => { frame(addr: bigint): string } = kernelSymbols,
  ) {}

  /** Whether a runner map record (by object name) is one of the stack maps. */
  owns(mapName: string): boolean {
    return this.stackMaps.some((m) => m.name === mapName);
  }

  /** One snapshot of a stack map: u32 id -> u64 addresses, zero after the last frame. */
  update(mapName: string, entries: { key: Uint8Array; value: Uint8Array }[]): void {
    const table = new Map<number, bigint[]>();
    for (const e of entries) {
      const id = new DataView(e.key.buffer, e.key.byteOffset, 4).getUint32(0, true);
      const v = new DataView(e.value.buffer, e.value.byteOffset, e.value.byteLength);
      const frames: bigint[] = [];
      for (let at = 0; at + 8 <= e.value.byteLength; at += 8) {
        const ip = v.getBigUint64(at, true);
        if (ip === 0n) break;
        frames.push(ip);
      }
      table.set(id, frames);
    }
    this.tables.set(mapName, table);
    this.user.beginRound();
  }

  /** A ksym()/usym() key: the symbol holding `addr` (usym: in process `tgid`), without its offset. */
  symbol(type: 'ksym' | 'usym', addr: bigint, tgid: number): string {
    if (type === 'ksym') return symbolName(this.kernelFrames().frame(addr));
    // A map without stack maps starts no rounds in update().
    this.user.beginRoundIfStale();
    return symbolName(this.user.frame(tgid, addr));
  }

  /** A strftime(FORMAT, ns) key: this host's local time. */
  time(format: string, ns: bigint): string {
    return hostTime(format, ns);
  }

  /** A stack key field's value as text: frames `name+offset` (hex when unknown), leaf first, one a line. */
  resolve(field: MapLayout['keyFields'][number], packed: bigint): string {
    const cacheKey = `${field.stackMap}:${packed}`;
    const hit = this.cache.get(cacheKey);
    if (hit !== undefined) return hit;
    const { tgid, stackId } = unpackStackKey(packed);
    if (stackId < 0) return lostFrame(stackId);
    const frames = this.tables.get(field.stackMap ?? '')?.get(stackId);
    // Not in the snapshot: the stack map was not read (should not happen): say so rather than guess.
    if (!frames) return `[stack ${stackId} not read]`;
    const text = frames.map((ip) => (field.type === 'ustack' ? this.user.frame(tgid, ip) : this.kernelFrames().frame(ip))).join('\n');
    this.cache.set(cacheKey, text);
    if (this.cache.size > MAX_CACHED_STACKS) this.cache.delete(this.cache.keys().next().value as string);
    return text;
  }
}
