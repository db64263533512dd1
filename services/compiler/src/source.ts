/** A script being compiled, with offset -> line:col mapping for diagnostics. */
export class Source {
  private readonly lineStarts: number[] = [0];
  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  /** 1-based line and column of an offset. */
  position(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.lineStarts[lo]! + 1 };
  }

  lineText(line: number): string {
    const start = this.lineStarts[line - 1] ?? this.text.length;
    const end = this.lineStarts[line] ?? this.text.length + 1;
    return this.text.slice(start, end - 1).replace(/\r$/, '');
  }
}

/** A half-open byte range in one source. */
export interface Span {
  source: Source;
  start: number;
  end: number;
}

/** Maps an offset in a string literal's value to its offset in the source (an escape is 2-4 characters there, as the lexer reads it). */
export function literalOffsets(literal: Span): (valueOffset: number) => number {
  const src = literal.source;
  const offsets: number[] = [];
  for (let r = literal.start + 1; r < literal.end - 1; r++) {
    offsets.push(r);
    if (src.text[r] !== '\\') continue;
    const rest = src.text.slice(r + 1, r + 4);
    r += /^x[0-9a-fA-F]{1,2}/.exec(rest)?.[0].length ?? /^[0-7]{1,3}/.exec(rest)?.[0].length ?? 1;
  }
  return (v) => offsets[Math.min(v, offsets.length - 1)] ?? literal.start;
}
