import { readFileSync } from 'node:fs';

/**
 * Kernel text symbols from /proc/kallsyms, sorted once, looked up by binary search.
 * Addresses are 64-bit (0xffffffff8...): kept as bigints, which a double cannot hold exactly.
 */
export class KernelSymbols {
  private constructor(
    private readonly addrs: BigUint64Array,
    private readonly names: string[],
  ) {}

  /** Parses kallsyms text: `ADDRESS TYPE NAME [module]`; only text symbols (t, T, w, W) name code. */
  static parse(text: string): KernelSymbols {
    const rows: { addr: bigint; name: string }[] = [];
    for (const line of text.split('\n')) {
      const sp1 = line.indexOf(' ');
      const type = line[sp1 + 1];
      if (sp1 <= 0 || !(type === 't' || type === 'T' || type === 'w' || type === 'W')) continue;
      const rest = line.slice(sp1 + 3);
      const tab = rest.indexOf('\t');
      const addr = BigInt(`0x${line.slice(0, sp1)}`);
      // Without CAP_SYSLOG every address reads 0: such a table names nothing.
      if (addr === 0n) continue;
      rows.push({ addr, name: tab === -1 ? rest : rest.slice(0, tab) });
    }
    rows.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
    return new KernelSymbols(BigUint64Array.from(rows.map((r) => r.addr)), rows.map((r) => r.name));
  }

  static load(path = '/proc/kallsyms'): KernelSymbols {
    return KernelSymbols.parse(readFileSync(path, 'utf8'));
  }

  get size(): number {
    return this.names.length;
  }

  /** `name+offset` (decimal, as bpftrace prints it), or hex when below every symbol. */
  frame(addr: bigint): string {
    let lo = 0;
    let hi = this.addrs.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.addrs[mid]! <= addr) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found === -1 ? `0x${addr.toString(16)}` : `${this.names[found]}+${addr - this.addrs[found]!}`;
  }
}
