import type { Diagnostics } from './diagnostics.js';
import { LIMITS } from './limits.js';
import type { Source, Span } from './source.js';

export type TokenKind = 'ident' | 'int' | 'string' | 'var' | 'param' | 'map' | 'punct' | 'point' | 'eof';

export interface Token {
  kind: TokenKind;
  text: string;
  span: Span;
  /** Value of an int literal, or the unescaped text of a string. */
  value?: bigint | string;
}

const PUNCT2 = new Set(['<<', '>>', '<=', '>=', '==', '!=', '&&', '||']);
const PUNCT1 = new Set(['{', '}', '(', ')', '[', ']', ',', ';', ':', '=', '/', '+', '-', '*', '%', '&', '|', '^', '!', '~', '<', '>', '.', '?']);
/** bpftrace 0.17's integers: 0x hex, or decimal (octal after a leading 0) with `_` between digits and an exponent (`1_000`, `5e9`, `1E3`). */
const NUMBER = /(0x[0-9a-fA-F]+|[0-9](?:[0-9_]*[0-9])?(?:[eE][0-9]+)?)([A-Za-z_]*)/y;

// Character classes by code: the lexer runs over up to a megabyte, a regex per character is too slow.
const isIdentStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isIdent = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57);
const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * On-demand lexer: the parser asks for a normal token or, right after `probe`,
 * `alias ... =` or a comma, for a raw probe point (which may hold `/`, `.`, `:`).
 */
export class Lexer {
  pos = 0;
  constructor(
    readonly source: Source,
    private readonly diags: Diagnostics,
  ) {}

  private span(start: number, end = this.pos): Span {
    return { source: this.source, start, end };
  }

  /** Skips whitespace, `#` / `//` comments and C block comments; returns the doc comment text just before, if any. */
  skipTrivia(): string | undefined {
    const t = this.source.text;
    let doc: string | undefined;
    for (;;) {
      const c = t[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else if (c === '#' || (c === '/' && t[this.pos + 1] === '/')) {
        const end = t.indexOf('\n', this.pos);
        const stop = end === -1 ? t.length : end;
        doc = t.slice(this.pos, stop).replace(/^(#|\/\/)\s?/, '');
        this.pos = stop;
      } else if (c === '/' && t[this.pos + 1] === '*') {
        // C's block comment, as bpftrace reads it: every tool in bpftrace's tools/ opens with one.
        const end = t.indexOf('*/', this.pos + 2);
        if (end === -1) {
          this.diags.error(this.span(this.pos, this.pos + 2), 'unterminated comment', "close it with '*/'");
          this.pos = t.length;
          return undefined;
        }
        this.pos = end + 2;
        doc = undefined;
      } else return doc;
    }
  }

  peekChar(): string | undefined {
    return this.source.text[this.pos];
  }

  /** A probe point: everything up to whitespace, `,` or `{`. */
  point(): Token {
    this.skipTrivia();
    const t = this.source.text;
    const start = this.pos;
    while (this.pos < t.length && !/[\s,{]/.test(t[this.pos]!)) this.pos++;
    return { kind: 'point', text: t.slice(start, this.pos), span: this.span(start) };
  }

  next(): Token {
    // A loop, not recursion: a run of stray characters of any length is one error each.
    for (;;) {
      const token = this.token();
      if (token) return token;
    }
  }

  /** The next token, or undefined after reporting a character no token starts with. */
  private token(): Token | undefined {
    this.skipTrivia();
    const t = this.source.text;
    const start = this.pos;
    if (this.pos >= t.length) return { kind: 'eof', text: '', span: this.span(start) };
    const c = t[this.pos]!;
    const code = t.charCodeAt(this.pos);
    if (isIdentStart(code)) {
      while (isIdent(t.charCodeAt(this.pos))) this.pos++;
      return this.name({ kind: 'ident', text: t.slice(start, this.pos), span: this.span(start) });
    }
    if ((c === '$' || c === '@') && isIdentStart(t.charCodeAt(this.pos + 1))) {
      this.pos++;
      while (isIdent(t.charCodeAt(this.pos))) this.pos++;
      return this.name({ kind: c === '$' ? 'var' : 'map', text: t.slice(start, this.pos), span: this.span(start) });
    }
    // bpftrace's positional parameters: `$1`..`$N` and `$#` (their count), given after the script.
    if (c === '$' && (isDigit(t.charCodeAt(this.pos + 1)) || t[this.pos + 1] === '#')) {
      this.pos += 2;
      if (t[this.pos - 1] !== '#') while (isDigit(t.charCodeAt(this.pos))) this.pos++;
      return { kind: 'param', text: t.slice(start, this.pos), span: this.span(start) };
    }
    // A bare `@` is bpftrace's anonymous map (`@[comm] = count()`), or the version mark in `alias NAME@2`.
    if (c === '@') {
      this.pos++;
      return { kind: 'map', text: '@', span: this.span(start) };
    }
    if (isDigit(code)) return this.number(start);
    if (c === '"') return this.string(start);
    const two = t.slice(this.pos, this.pos + 2);
    const p = PUNCT2.has(two) ? two : PUNCT1.has(c) ? c : undefined;
    if (p) {
      this.pos += p.length;
      return { kind: 'punct', text: p, span: this.span(start) };
    }
    this.pos++;
    this.diags.error(this.span(start), `unexpected character '${c}'`);
    return undefined;
  }

  private name(tok: Token): Token {
    const bare = tok.kind === 'ident' ? tok.text : tok.text.slice(1);
    if (bare.length > LIMITS.maxNameBytes) this.diags.error(tok.span, `name '${tok.text.slice(0, 20)}...' is longer than ${LIMITS.maxNameBytes} characters`, 'maps, events and fields become kernel (BTF) names, which are bounded');
    return tok;
  }

  private number(start: number): Token {
    const t = this.source.text;
    NUMBER.lastIndex = start;
    const m = NUMBER.exec(t);
    const digits = m![1]!;
    this.pos = start + m![0].length;
    const [mantissa, exponent] = digits.startsWith('0x') ? [digits, '0'] : digits.replace(/_/g, '').split(/[eE]/);
    // As bpftrace (strtoull's base 0): 0644 is octal, 420; 08 is no number. With an exponent the digits are decimal.
    const octal = exponent === undefined && /^0[0-9]/.test(mantissa!);
    if (m![2] || (octal && /[89]/.test(mantissa!))) {
      this.diags.error(this.span(start), `'${m![0]}' is not a number`, 'integers are decimal (1000, 1_000, 1e3), 0x hex or, after a leading 0, octal (0644); durations belong in probe points like interval:1s');
      return { kind: 'int', text: m![0], span: this.span(start), value: 0n };
    }
    // bpftrace 0.17's scientific literals: one digit before the exponent and at most 10^16 after
    // it (it refuses 10e18, 1e17 and 1_000e3); plain decimals go up to 2^64 - 1.
    if (!digits.startsWith('0x') && exponent !== undefined && (BigInt(mantissa!) > 9n || Number(exponent) > 16)) {
      const coefficient = BigInt(mantissa!) > 9n;
      this.diags.error(this.span(start), coefficient ? `'${digits}': the digits before the exponent must be one digit, 0 to 9, not ${mantissa}` : `'${digits}': the exponent must be at most 16, not ${exponent}`,
        `as in bpftrace, a literal with an exponent is D e N with D in 0..9 and N at most 16; write larger numbers in full (${coefficient ? 'e.g. 10000000000000000000' : '18446744073709551615 is the largest'}) or as 0x hex`);
      return { kind: 'int', text: m![0], span: this.span(start), value: 0n };
    }
    const value = BigInt(octal ? `0o${mantissa!.slice(1)}` : mantissa!) * 10n ** BigInt(exponent ?? '0');
    if (value > 0xffffffffffffffffn) this.diags.error(this.span(start), `integer ${digits} does not fit in 64 bits`, 'the largest integer is 18446744073709551615 (0xffffffffffffffff)');
    return { kind: 'int', text: m![0], span: this.span(start), value };
  }

  /**
   * One escape at `pos` (a backslash), as C and bpftrace read them: \n \t \r \\ \" \' \a \b \f \v,
   * \xHH (one or two hex digits) and \NNN (one to three octal digits). Anything else is a
   * diagnostic, not a silently dropped backslash.
   */
  private escape(): string {
    const t = this.source.text;
    const at = this.pos;
    const e = t[at + 1] ?? '';
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
    if (e in simple) {
      this.pos += 2;
      return simple[e]!;
    }
    const hex = /^x([0-9a-fA-F]{1,2})/.exec(t.slice(at + 1, at + 4));
    if (hex) {
      this.pos = at + 1 + hex[0].length;
      return String.fromCharCode(parseInt(hex[1]!, 16));
    }
    const oct = /^[0-7]{1,3}/.exec(t.slice(at + 1, at + 4));
    if (oct) {
      this.pos = at + 1 + oct[0].length;
      return String.fromCharCode(parseInt(oct[0], 8) & 0xff);
    }
    this.pos = at + (e && e !== '\n' ? 2 : 1);
    this.diags.error(this.span(at), `invalid escape '\\${e === '\n' ? '' : e}' in a string`, 'escapes are \\n \\t \\r \\\\ \\" \\xHH and \\NNN (octal); write \\\\ for a backslash');
    return '';
  }

  private string(start: number): Token {
    const t = this.source.text;
    let out = '';
    this.pos++;
    while (this.pos < t.length && t[this.pos] !== '"' && t[this.pos] !== '\n') {
      if (t[this.pos] === '\\') out += this.escape();
      else out += t[this.pos++];
    }
    if (t[this.pos] !== '"') {
      this.diags.error(this.span(start), 'unterminated string', 'close it with " on the same line');
      return { kind: 'string', text: t.slice(start, this.pos), span: this.span(start), value: out };
    }
    this.pos++;
    return { kind: 'string', text: t.slice(start, this.pos), span: this.span(start), value: out };
  }
}
