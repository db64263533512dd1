import type { Expr, Stmt } from '../ast.js';
import type { Diagnostics } from '../diagnostics.js';
import { LIMITS } from '../limits.js';
import { argKind, CONVERSIONS, parseFormat, type ConversionSpec } from '../printf-spec.js';
import { literalOffsets, type Span } from '../source.js';
import { typeName, type Type } from '../types.js';
import type { ResolvedProbe } from './resolve-points.js';
import { isUserSide, type Analysis } from './typecheck.js';
import { flatten } from './check-limits.js';

/** Name of the record exit() sends from a kernel probe (one per bundle, no fields). */
export const EXIT_RECORD = 'exit';
/** Name of the record of printf() call site N, in script order. */
export const printfRecordName = (n: number) => `printf_${n}`;

export interface PrintfCheckOptions {
  /** `deploy`: a fleet deployment, which runs until it is stopped, so exit() has nothing to end. */
  purpose?: 'run' | 'deploy';
}

/**
 * Pass: check every printf() format against its arguments and give each call site its own
 * record (the arguments as fields arg0..argN, laid out by lower.ts like any event, the format
 * carried in the layout), and a kernel probe's exit() its record. A begin/end/interval probe's
 * printf() sends its record from the probe's BPF program, run by the runner; the owner prints it
 * at its place among the probe's print() calls (lower-programs.ts: its action names the record).
 */
export function checkPrintf(probes: ResolvedProbe[], a: Analysis, diags: Diagnostics, options: PrintfCheckOptions = {}): void {
  let sites = 0;
  const exitProbes = new Set<string>();
  for (const probe of probes) {
    if (probe.unresolved) continue;
    const userSide = probe.points.length > 0 && probe.points.every((p) => isUserSide(p.target));
    const points = probe.points.map((p) => p.span.source.text.slice(p.span.start, p.span.end));
    // A user-side probe's exit() at its top level is a user action; inside an if its program sends the exit record.
    const topLevel = new Set<Stmt>(probe.body);
    for (const s of flatten(probe.body)) {
      if (s.kind === 'exit') {
        if (options.purpose === 'deploy')
          diags.error(s.span, 'exit() ends a tapfleet run; a deployment runs until it is stopped', 'a deployment ends with tapfleet stop DEPLOYMENT (or its --ttl); run the script with tapfleet run to use exit()');
        else if (!userSide || !topLevel.has(s)) points.forEach((p) => exitProbes.add(p));
        continue;
      }
      if (s.kind !== 'printf') continue;
      const types = checkCall(s, a, diags);
      if (!types) continue;
      if (a.events.size >= LIMITS.maxEvents) {
        // Record ids are u16s shared with the emitted events (and exit()'s record).
        diags.error(s.span, `this script sends more than ${LIMITS.maxEvents} kinds of record (events and printf() call sites)`, 'print the same line from fewer call sites');
        return;
      }
      const name = printfRecordName(sites++);
      if (a.events.has(name)) {
        diags.error(s.span, `this printf() record is named ${name}, which an emit of this script also uses`, 'printf() records are named printf_0, printf_1, ... in script order: rename the event');
        continue;
      }
      const fields = types.map((type, i) => ({ name: `arg${i}`, type }));
      a.events.set(name, { fields, fieldTypes: new Map(fields.map((f) => [f.name, f.type])), probes: points, call: { fn: 'printf', format: s.format, args: fields.map((f) => f.name) } });
      s.record = name;
    }
  }
  if (!exitProbes.size) return;
  if (a.events.has(EXIT_RECORD)) {
    const first = probes.flatMap((p) => flatten(p.body)).find((s) => s.kind === 'exit')!;
    diags.error(first.span, `exit() sends a record named ${EXIT_RECORD}, which an emit of this script also uses`, 'rename the event');
    return;
  }
  a.events.set(EXIT_RECORD, { fields: [], fieldTypes: new Map(), probes: [...exitProbes], call: { fn: 'exit' } });
}

/** Checks one call's format and arguments; returns the arguments' types when all is well. */
function checkCall(s: Extract<Stmt, { kind: 'printf' }>, a: Analysis, diags: Diagnostics): Type[] | undefined {
  const at = literalOffsets(s.formatSpan);
  const specSpan = (from: number, length: number): Span => ({ source: s.formatSpan.source, start: at(from), end: at(from + length - 1) + 1 });
  const before = diags.items.length;
  if (Buffer.byteLength(s.format) > LIMITS.maxPrintfFormatBytes)
    diags.error(s.formatSpan, `a printf() format holds at most ${LIMITS.maxPrintfFormatBytes} bytes`, 'split the line across several printf() calls');
  if (s.args.length > LIMITS.maxPrintfArgs)
    diags.error(s.args[LIMITS.maxPrintfArgs]!.span, `printf() takes at most ${LIMITS.maxPrintfArgs} arguments after the format`, 'split the line across several printf() calls');
  const { pieces, problems } = parseFormat(s.format);
  for (const p of problems) diags.error(specSpan(p.at, p.length), p.message, p.hint);
  if (problems.length) return undefined;
  const specs = pieces.filter((p): p is ConversionSpec => 'conversion' in p);
  if (s.args.length < specs.length) {
    const missing = specs[s.args.length]!;
    diags.error(specSpan(missing.at, missing.length), `not enough arguments for this format: ${specs.length} conversion(s), ${s.args.length} argument(s)`, `give a value for '${s.format.slice(missing.at, missing.at + missing.length)}', or write %% for a percent sign`);
  } else if (s.args.length > specs.length) {
    diags.error(s.args[specs.length]!.span, `too many arguments for this format: ${specs.length} conversion(s), ${s.args.length} argument(s)`, `each argument needs a conversion in the format, e.g. %d for an integer, %s for a string (conversions: ${CONVERSIONS})`);
  }
  const types = s.args.map((e) => a.types.get(e) ?? { kind: 'int' as const, signed: true });
  specs.forEach((spec, i) => {
    const e = s.args[i];
    const t = types[i];
    if (!e || !t) return;
    const want = argKind(spec);
    const conv = s.format.slice(spec.at, spec.at + spec.length);
    // A stack prints through %s as bpftrace prints one: its frames, each on its own line.
    // ksym(), usym() and strftime() are integers in the record that print as text.
    const text = t.kind === 'int' && (t.sym !== undefined || t.strftime !== undefined);
    if (want === 'str' && t.kind === 'int' && !text && !(e.kind === 'int' && e.refused)) diags.error(e.span, `${conv} prints a string, this is ${typeName(t)}`, 'print an integer with %d, %u or %x; read the string a pointer points to with str(p)');
    if (want === 'int' && text) diags.error(e.span, `${conv} prints an integer, ${typeName(t)} gives text`, `print it with %s; for the number itself, print the argument of ${typeName(t)} alone`);
    else if (want === 'int' && t.kind !== 'int') diags.error(e.span, `${conv} prints an integer, this is ${typeName(t)}`, 'print a string with %s');
  });
  return diags.items.length === before ? types : undefined;
}
