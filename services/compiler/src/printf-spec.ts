/**
 * The printf() format grammar, shared by the compile-time check (passes/printf-check.ts) and
 * the formatter (output/printf.ts), so both read a format string the same way:
 * `%[flags][width][.precision][length]conversion`, as C's printf takes it, without `*`
 * (a width or precision must be written in the format) and without floating point.
 */

/** What a conversion reads: an integer, a string, or nothing (`%%`). */
export type ArgKind = 'int' | 'str';

export interface ConversionSpec {
  /** Offset of the `%` in the (unescaped) format string, and the length of the whole spec. */
  at: number;
  length: number;
  flags: { minus: boolean; plus: boolean; space: boolean; hash: boolean; zero: boolean };
  width?: number;
  precision?: number;
  /** '' (int), 'hh', 'h', 'l', 'll', 'j', 'z', 't'. */
  lengthModifier: string;
  conversion: 'd' | 'i' | 'u' | 'x' | 'X' | 'o' | 's' | 'c' | 'p';
}

export type FormatPiece = { text: string } | ConversionSpec;

export interface FormatProblem {
  at: number;
  length: number;
  message: string;
  hint?: string;
}

export const CONVERSIONS = 'd i u x X o s c p';
const INT_CONVERSIONS = new Set(['d', 'i', 'u', 'x', 'X', 'o', 'c', 'p']);
const LENGTHS = ['hh', 'h', 'll', 'l', 'j', 'z', 't'];
/** Widths and precisions past this are refused: C's are ints, and a line that wide is a mistake. */
export const MAX_FIELD_WIDTH = 4096;

export const argKind = (s: ConversionSpec): ArgKind => (INT_CONVERSIONS.has(s.conversion) ? 'int' : 'str');

/** Splits a format into literal text and conversions; problems are reported, never thrown. */
export function parseFormat(format: string): { pieces: FormatPiece[]; problems: FormatProblem[] } {
  const pieces: FormatPiece[] = [];
  const problems: FormatProblem[] = [];
  let text = '';
  let i = 0;
  while (i < format.length) {
    const c = format[i]!;
    if (c !== '%') {
      text += c;
      i++;
      continue;
    }
    if (format[i + 1] === '%') {
      text += '%';
      i += 2;
      continue;
    }
    const spec = conversionAt(format, i);
    if ('message' in spec) {
      problems.push(spec);
      i += Math.max(1, spec.length);
      continue;
    }
    if (text) pieces.push({ text });
    text = '';
    pieces.push(spec);
    i += spec.length;
  }
  if (text) pieces.push({ text });
  return { pieces, problems };
}

/** Reads the conversion spec that starts with the `%` at `start`. */
function conversionAt(format: string, start: number): ConversionSpec | FormatProblem {
  let i = start + 1;
  const flags = { minus: false, plus: false, space: false, hash: false, zero: false };
  for (;;) {
    const f = format[i];
    if (f === '-') flags.minus = true;
    else if (f === '+') flags.plus = true;
    else if (f === ' ') flags.space = true;
    else if (f === '#') flags.hash = true;
    else if (f === '0') flags.zero = true;
    else break;
    i++;
  }
  const digits = () => {
    const from = i;
    while (format[i] !== undefined && format[i]! >= '0' && format[i]! <= '9') i++;
    return from === i ? undefined : Number(format.slice(from, i));
  };
  if (format[i] === '*') return { at: start, length: i + 1 - start, message: "a width or precision given as '*' is not supported", hint: 'write the number in the format, e.g. %8d' };
  const width = digits();
  let precision: number | undefined;
  if (format[i] === '.') {
    i++;
    if (format[i] === '*') return { at: start, length: i + 1 - start, message: "a width or precision given as '*' is not supported", hint: 'write the number in the format, e.g. %.3s' };
    precision = digits() ?? 0; // C: '.' alone means precision 0
  }
  if ((width ?? 0) > MAX_FIELD_WIDTH || (precision ?? 0) > MAX_FIELD_WIDTH)
    return { at: start, length: i - start, message: `a width or precision is at most ${MAX_FIELD_WIDTH}` };
  const lengthModifier = LENGTHS.find((l) => format.startsWith(l, i)) ?? '';
  i += lengthModifier.length;
  const conversion = format[i];
  const seen = format.slice(start, i + 1);
  if (conversion === undefined)
    return { at: start, length: i - start, message: `the format ends inside the conversion '${seen}'`, hint: `a conversion ends with one of ${CONVERSIONS}; write %% for a percent sign` };
  if (!'diuxXoscp'.includes(conversion))
    return { at: start, length: i + 1 - start, message: `unknown conversion '${seen}'`, hint: `conversions are ${CONVERSIONS} (with flags -+ #0, a width, a .precision and hh h l ll j z t), and %% for a percent sign` };
  if (lengthModifier && (conversion === 's' || conversion === 'c'))
    return { at: start, length: i + 1 - start, message: `'${lengthModifier}' does not apply to %${conversion}`, hint: `write %${conversion}` };
  return { at: start, length: i + 1 - start, flags, ...(width !== undefined ? { width } : {}), ...(precision !== undefined ? { precision } : {}), lengthModifier, conversion: conversion as ConversionSpec['conversion'] };
}
