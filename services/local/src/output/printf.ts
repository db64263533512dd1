import type { DecodedEvent, EventLayout, FieldValue } from '@tapfleet/schemas';
import { parseFormat, type ConversionSpec, type FormatPiece } from '@tapfleet/compiler/light';

/** One printf() argument as it arrives: an integer (64 bits, as the record carries it) or a string. */
export type PrintfArg = bigint | string;

const BITS: Record<string, number> = { hh: 8, h: 16, '': 32, l: 64, ll: 64, j: 64, z: 64, t: 64 };

/**
 * A format parsed once and applied to many records. Each conversion behaves as glibc's
 * printf does when handed the 64-bit value converted to the type the conversion names
 * (`%d` an int, `%hhu` an unsigned char, `%ld` a long), which is what bpftrace prints.
 * Output is bytes: a `%c` or a truncated `%.3s` need not be whole UTF-8.
 */
export class PrintfFormatter {
  private readonly pieces: FormatPiece[];

  constructor(format: string) {
    const { pieces, problems } = parseFormat(format);
    // The compiler refused such a format; a manifest that carries one was not made by it.
    if (problems.length) throw new Error(`bad printf format ${JSON.stringify(format)}: ${problems[0]!.message}`);
    this.pieces = pieces;
  }

  format(args: readonly PrintfArg[]): Buffer {
    const out: Buffer[] = [];
    let next = 0;
    for (const p of this.pieces) {
      if ('text' in p) out.push(Buffer.from(p.text, 'utf8'));
      else out.push(conversion(p, args[next++]));
    }
    return Buffer.concat(out);
  }
}

/** Formats `args` with `format` (see PrintfFormatter). */
export const formatPrintf = (format: string, args: readonly PrintfArg[]): Buffer => new PrintfFormatter(format).format(args);

function conversion(s: ConversionSpec, arg: PrintfArg | undefined): Buffer {
  if (s.conversion === 's') return pad(s, Buffer.alloc(0), truncate(Buffer.from(typeof arg === 'string' ? arg : String(arg ?? ''), 'utf8'), s.precision), false);
  const value = typeof arg === 'bigint' ? arg : BigInt(arg ?? 0);
  switch (s.conversion) {
    case 'c': return pad(s, Buffer.alloc(0), Buffer.from([Number(BigInt.asUintN(8, value))]), false);
    case 'p': return pointer(s, BigInt.asUintN(64, value));
    default: return integer(s, value);
  }
}

const truncate = (b: Buffer, precision: number | undefined) => (precision === undefined ? b : b.subarray(0, precision));

/** d i u x X o, with the length modifier's width and signedness. */
function integer(s: ConversionSpec, raw: bigint): Buffer {
  const bits = BITS[s.lengthModifier]!;
  const signed = s.conversion === 'd' || s.conversion === 'i';
  const v = signed ? BigInt.asIntN(bits, raw) : BigInt.asUintN(bits, raw);
  const negative = v < 0n;
  const magnitude = negative ? -v : v;
  const base = s.conversion === 'o' ? 8 : s.conversion === 'x' || s.conversion === 'X' ? 16 : 10;
  let digits = s.precision === 0 && magnitude === 0n ? '' : magnitude.toString(base);
  if (s.conversion === 'X') digits = digits.toUpperCase();
  if (s.precision !== undefined) digits = digits.padStart(s.precision, '0');
  let prefix = negative ? '-' : signed && s.flags.plus ? '+' : signed && s.flags.space ? ' ' : '';
  if (s.flags.hash) {
    // '#': octal gets a leading 0 (once), hex a 0x unless the value is zero.
    if (s.conversion === 'o' && !digits.startsWith('0')) digits = `0${digits}`;
    if ((s.conversion === 'x' || s.conversion === 'X') && magnitude !== 0n) prefix += s.conversion === 'x' ? '0x' : '0X';
  }
  return pad(s, Buffer.from(prefix), Buffer.from(digits), s.precision === undefined);
}

/** %p as glibc prints it: (nil) for 0, else 0x and lower-case hex (flags as for a number). */
function pointer(s: ConversionSpec, v: bigint): Buffer {
  if (v === 0n) return pad({ ...s, flags: { ...s.flags, zero: false } }, Buffer.alloc(0), Buffer.from('(nil)'), false);
  let digits = v.toString(16);
  if (s.precision !== undefined) digits = digits.padStart(s.precision, '0');
  const prefix = `${s.flags.plus ? '+' : s.flags.space ? ' ' : ''}0x`;
  return pad(s, Buffer.from(prefix), Buffer.from(digits), s.precision === undefined);
}

/** Pads to the width: left with spaces, right with '-', or zeros between prefix and body with '0'. */
function pad(s: ConversionSpec, prefix: Buffer, body: Buffer, zeroAllowed: boolean): Buffer {
  const fill = (s.width ?? 0) - prefix.length - body.length;
  if (fill <= 0) return Buffer.concat([prefix, body]);
  if (s.flags.minus) return Buffer.concat([prefix, body, Buffer.alloc(fill, ' ')]);
  if (s.flags.zero && zeroAllowed) return Buffer.concat([prefix, Buffer.alloc(fill, '0'), body]);
  return Buffer.concat([Buffer.alloc(fill, ' '), prefix, body]);
}

/** The formatters of one run: one per printf() call site, parsed on first use. */
export class PrintfFormatters {
  private readonly byFormat = new Map<string, PrintfFormatter>();

  private formatter(format: string): PrintfFormatter {
    let f = this.byFormat.get(format);
    if (!f) this.byFormat.set(format, (f = new PrintfFormatter(format)));
    return f;
  }

  /** A kernel printf() record: its arguments are the fields the layout's call names, in order. */
  record(layout: EventLayout, fields: DecodedEvent): Buffer {
    if (layout.call?.fn !== 'printf') throw new Error(`event ${layout.name} is not a printf() record`);
    return this.formatter(layout.call.format).format(layout.call.args.map((name) => toArg(fields[name])));
  }
}

const toArg = (v: FieldValue | undefined): PrintfArg => (typeof v === 'string' || typeof v === 'bigint' ? v : BigInt(v ?? 0));
