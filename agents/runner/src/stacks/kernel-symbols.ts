import { readFileSync } from 'node:fs';

/**
 * Kernel text symbols from /proc/kallsyms, sorted once, looked up by binary search.
 * Addresses are 64-bit (0xffffffff8...): kept as bigints, which a double cannot hold exactly.
 */
export class KernelSymbols {
  /**
   * Names stay in the kallsyms text (one flat string) and are sliced out on lookup: 120k small
   * strings and a row object each cost ~45 MB of heap here; this keeps the table near the text's size.
   */
  private constructor(
    private readonly text: string,
    private readonly addrs: BigUint64Array,
    private readonly nameAt: Uint32Array,
    private readonly nameEnd: Uint32Array,
  ) {}

  /** Parses kallsyms text: `ADDRESS TYPE NAME [module]`; only text symbols (t, T, w, W) name code. */
  static parse(text: string): KernelSymbols {
    const addrs: bigint[] = [];
    const at: number[] = [];
    const end: number[] = [];
    for (let line = 0; line < text.length; ) {
      let eol = text.indexOf('\n', line);
      if (eol === -1) eol = text.length;
      const sp = text.indexOf(' ', line);
      const type = text[sp + 1];
      if (sp > line && sp < eol && (type === 't' || type === 'T' || type === 'w' || type === 'W')) {
        const addr = BigInt(`0x${text.slice(line, sp)}`);
        // Without CAP_SYSLOG every address reads 0: such a table names nothing.
        if (addr !== 0n) {
          // A module's symbols end in "\t[module]"; search this line only (most lines have no tab).
          const tab = text.slice(sp + 3, eol).indexOf('\t');
          addrs.push(addr);
          at.push(sp + 3);
          end.push(tab === -1 ? eol : sp + 3 + tab);
        }
      }
      line = eol + 1;
    }
    const order = Uint32Array.from(addrs.keys()).sort((x, y) => (addrs[x]! < addrs[y]! ? -1 : addrs[x]! > addrs[y]! ? 1 : 0));
    return new KernelSymbols(
      text,
      BigUint64Array.from(order, (i) => addrs[i]!),
      Uint32Array.from(order, (i) => at[i]!),
      Uint32Array.from(order, (i) => end[i]!),
    );
  }

  static load(path = '/proc/kallsyms'): KernelSymbols {
    return KernelSymbols.parse(readFileSync(path, 'latin1'));
  }

  get size(): number {
    return this.addrs.length;
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
    if (found === -1) return `0x${addr.toString(16)}`;
    return `${this.text.slice(this.nameAt[found]!, this.nameEnd[found]!)}+${addr - this.addrs[found]!}`;
  }
}
