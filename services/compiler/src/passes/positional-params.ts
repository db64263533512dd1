import type { Alias, Expr, PairKey, Probe, ProbePoint, Script, Stmt } from '../ast.js';
import type { Diagnostics } from '../diagnostics.js';
import { LIMITS } from '../limits.js';
import type { Span } from '../source.js';
import { MAX_SCRIPT_PARAMS } from '@tapfleet/schemas';

/**
 * Pass: bpftrace's positional parameters. `$1`..`$N` are the words given after the script
 * (`tapfleet run FILE 1234 foo`), `$#` how many there are. They are compile-time constants, so
 * they are replaced here, right after parsing, by literals, and every later pass sees an integer
 * or a string constant (so `str(arg0, $2)`, `lhist(x, 0, $1, 10)` and `printf` in `begin` take them).
 *
 * As in bpftrace 0.17: `$N` is a number (decimal, 0x hex, an optional sign, leading blanks),
 * `str($N)` is the word as a string; a parameter not given reads as 0, or "" in str(); a word that
 * is not a number where a number is expected is an error. Here the missing one is also a warning,
 * since a forgotten argument otherwise filters on `pid == 0` without a word.
 */

export interface PositionalOptions {
  /** Where the bundle goes: in a fleet deployment a parameter the script reads and was not given is an error, not a warning. */
  purpose?: 'run' | 'deploy';
}

// Leading blanks are C's isspace() ones (bpftrace 0.17 takes "\t12", refuses a no-break space or a BOM before the digits); \s is Unicode's.
const NUMBER = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A parameter word as bpftrace reads it where a number is expected, or undefined when it is none (or outside int64, which bpftrace refuses too). */
export function paramNumber(word: string): bigint | undefined {
  const m = NUMBER.exec(word);
  if (!m) return undefined;
  const magnitude = BigInt(m[2]!);
  const v = m[1] === '-' ? -magnitude : magnitude;
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

/** An integer literal for `v`, negatives as a unary minus (the lexer's literals are unsigned). */
function intNode(v: bigint, span: Span): Expr {
  return v < 0n ? { kind: 'unary', op: '-', expr: { kind: 'int', value: -v, span }, span } : { kind: 'int', value: v, span };
}

export function substituteParams(script: Script, params: readonly string[], diags: Diagnostics, options: PositionalOptions = {}): Script {
  const warned = new Set<number>();
  const badReported = new Set<number>();
  /** `tapfleet run FILE 1234 VALUE2`: the words given, then placeholders up to parameter `i`. */
  const words = (i: number) => Array.from({ length: i }, (_, k) => params[k] ?? `VALUE${k + 1}`).join(' ');
  const hint = (e: Span, i: number) => `give it after the script: tapfleet run ${e.source.file === '-e' ? "-e '...'" : e.source.file} ${words(i)} (in bpftrace, as here, a parameter not given reads as 0, or "" in str($${i}))`;

  /** The word for `$N`, reporting an index no one can pass and (once per index) a missing one. */
  const word = (e: Extract<Expr, { kind: 'param' }>): string | undefined => {
    if (e.index === '#') return undefined;
    if (e.index < 1) {
      diags.error(e.span, `there is no $${e.index}: positional parameters are numbered from $1`, '$1 is the first word after the script, $# how many were given');
      return undefined;
    }
    // No one can give it (the CLI and the API take at most MAX_SCRIPT_PARAMS); and the hint would list a placeholder per index ($30000000: 300 MB; $1e23: a RangeError).
    if (e.index > MAX_SCRIPT_PARAMS) {
      diags.error(e.span, `there is no ${e.span.source.text.slice(e.span.start, e.span.end)}: a script is given at most ${MAX_SCRIPT_PARAMS} positional parameters`, `$1..$${MAX_SCRIPT_PARAMS} are the words after the script, $# how many were given`);
      return undefined;
    }
    const w = params[e.index - 1];
    if (w === undefined && !warned.has(e.index)) {
      warned.add(e.index);
      // A deployment's warnings reach no one, and a forgotten pid filter on a fleet is worse than an error.
      if (options.purpose === 'deploy') diags.error(e.span, `$${e.index} is not given (the deployment has ${params.length} parameter(s)): a deployment must give every parameter its script reads`, `give it after the script: tapfleet deploy FILE ${words(e.index)} --select K=V (or "params" in POST /v1/deployments)`);
      else diags.warning(e.span, `$${e.index} is not given (${params.length} parameter(s) were): it reads as 0, or "" in str()`, hint(e.span, e.index));
    }
    return w;
  };

  const expr = (e: Expr): Expr => {
    switch (e.kind) {
      case 'param': {
        if (e.index === '#') return intNode(BigInt(params.length), e.span);
        const w = word(e);
        if (w === undefined) return intNode(0n, e.span);
        const v = paramNumber(w);
        if (v === undefined) {
          // One cause, one diagnostic: the first use of a parameter that is no number.
          if (badReported.has(e.index)) return intNode(0n, e.span);
          badReported.add(e.index);
          diags.error(e.span, `$${e.index} is used as a number, but was given ${JSON.stringify(w.length > 40 ? `${w.slice(0, 40)}...` : w)}`, `pass a number (decimal or 0x hex) as parameter ${e.index}, or read it as a string: str($${e.index})`);
          return intNode(0n, e.span);
        }
        return intNode(v, e.span);
      }
      case 'call': {
        const first = e.args[0];
        if (e.name === 'str' && first?.kind === 'param' && first.index !== '#') return strParam(e, first);
        return { ...e, args: e.args.map(expr) };
      }
      case 'entry': return { ...e, expr: expr(e.expr) };
      case 'mapread': return { ...e, keys: e.keys.map(expr) };
      case 'unary': return { ...e, expr: expr(e.expr) };
      case 'binary': return { ...e, left: expr(e.left), right: expr(e.right) };
      case 'ternary': return { ...e, cond: expr(e.cond), then: expr(e.then), else: expr(e.else) };
      case 'cast': return { ...e, expr: expr(e.expr) };
      default: return e;
    }
  };

  /**
   * `str($N[, LEN])`: the word itself, a string literal. bpftrace 0.17 keeps 63 characters of it
   * (its 64-byte strings), and with LEN the first LEN characters (`str($1, 3)` of "hello" is "hel").
   */
  const strParam = (call: Extract<Expr, { kind: 'call' }>, p: Extract<Expr, { kind: 'param' }>): Expr => {
    const w = word(p) ?? '';
    const len = call.args[1] ? expr(call.args[1]) : undefined;
    if (call.args.length > 2) diags.error(call.span, 'str() takes a pointer and an optional length: str(ptr[, n])');
    let keep = LIMITS.defaultStringBytes - 1;
    if (len) {
      if (len.kind !== 'int' || len.value < 1n || len.value > BigInt(LIMITS.maxStringBytes - 1)) {
        diags.error(len.span, `the length given to str($${p.index}) must be a constant 1..${LIMITS.maxStringBytes - 1}`);
      } else keep = Number(len.value);
    }
    return { kind: 'string', value: truncateBytes(w, keep), span: call.span };
  };

  const stmt = (s: Stmt): Stmt => {
    switch (s.kind) {
      case 'let': return { ...s, value: expr(s.value) };
      case 'agg': return { ...s, keys: s.keys.map(expr), call: { ...s.call, args: s.call.args.map(expr) } };
      case 'assign': return { ...s, keys: s.keys.map(expr), value: expr(s.value) };
      case 'emit': return { ...s, fields: s.fields.map((f) => ({ ...f, value: expr(f.value) })) };
      case 'if': return { ...s, cond: expr(s.cond), then: s.then.map(stmt), else: s.else.map(stmt) };
      case 'delete': return { ...s, keys: s.keys.map(expr) };
      case 'printf': return { ...s, args: s.args.map(expr) };
      default: return s;
    }
  };

  const pairKey = (k: PairKey | undefined): PairKey | undefined => (k ? { ...k, exprs: k.exprs.map(expr) } : undefined);
  const probe = (p: Probe): Probe => ({ ...p, ...(p.predicate ? { predicate: expr(p.predicate) } : {}), body: p.body.map(stmt) });
  const alias = (a: Alias): Alias => {
    const startKey = pairKey(a.startKey);
    const endKey = pairKey(a.endKey);
    return { ...a, assigns: a.assigns.map(stmt), ...(startKey ? { startKey } : {}), ...(endKey ? { endKey } : {}) };
  };
  // Points first: a parameter a point lacks is an error there, and its uses in bodies are not warned about again.
  const pointed = substitutePointParams(script, params, diags, options, warned);
  return { ...pointed, probes: pointed.probes.map(probe), aliases: pointed.aliases.map(alias) };
}

/** Kinds whose last part is a number: interval:UNIT:N (or interval:Nunit), profile:UNIT:N. */
const NUMERIC_KINDS = new Set(['interval', 'i', 'profile']);
/** `$1`..`$N` and `$#` in a probe point's text; `$name` (a letter first) is a binary, not a parameter. */
const POINT_PARAM = /\$([0-9]+|#)/g;

/**
 * bpftrace 0.17 substitutes positional parameters in probe points too, anywhere in any part
 * (`tracepoint:syscalls:sys_enter_$1`, `uprobe:$1:main`, `interval:s:$1`, even `$1:sched:...`),
 * as the word itself. Here the same, except that these are each an error at the `$N`: a
 * parameter not given (bpftrace substitutes "" and fails later, or attaches somewhere else), a
 * word with ':' or '$' (it would add parts to the point, or name a binary), a period that is not
 * a positive number (bpftrace says "stoull", or fails at attach), and `$#`. `reported` holds the
 * parameters already reported missing, so their uses in bodies are not reported again.
 */
export function substitutePointParams(script: Script, params: readonly string[], diags: Diagnostics, options: PositionalOptions = {}, reported = new Set<number>()): Script {
  const command = (at: ProbePoint) => {
    const file = at.span.source.file === '-e' ? "-e '...'" : at.span.source.file;
    return options.purpose === 'deploy' ? `tapfleet deploy ${file}` : `tapfleet run ${file}`;
  };
  let failed = false;
  const words = (i: number) => Array.from({ length: i }, (_, k) => params[k] ?? `VALUE${k + 1}`).join(' ');

  /** One part of a point with its parameters replaced; `numeric` is the point's text when this part is its period. */
  const part = (text: string, at: ProbePoint, offset: number, numeric: string | undefined, sink: Diagnostics | undefined): string =>
    text.replace(POINT_PARAM, (whole: string, index: string, where: number) => {
      const start = at.span.start + offset + where;
      const span = { source: at.span.source, start, end: start + whole.length };
      const fail = (message: string, hint: string) => {
        sink?.error(span, message, hint);
        if (sink) failed = true;
        return whole;
      };
      if (index === '#') return fail('$# (how many parameters were given) cannot be part of a probe point', `probe points take $1..$${MAX_SCRIPT_PARAMS}, the words themselves`);
      const n = Math.min(Number(index), Number.MAX_SAFE_INTEGER);
      if (n < 1 || n > MAX_SCRIPT_PARAMS) return fail(`there is no ${whole}: a script is given at most ${MAX_SCRIPT_PARAMS} positional parameters, from $1`, `$1..$${MAX_SCRIPT_PARAMS} are the words after the script`);
      const w = params[n - 1];
      if (w === undefined) {
        if (!sink) return whole;
        if (reported.has(n)) {
          failed = true;
          return whole;
        }
        reported.add(n);
        return fail(`$${n} is not given (${params.length} parameter(s) were), and the probe point ${at.text} needs it`, `give it after the script: ${command(at)} ${words(n)} (bpftrace reads it as "" there, and looks for the point without it)`);
      }
      if (/[:$]/.test(w)) return fail(`$${n} is ${JSON.stringify(w)}: a parameter fills in part of one probe point and cannot hold ':' or '$'`, `pass one part, e.g. a path, a function or a tracepoint name; binaries by name go with --binary NAME=PATH`);
      if (numeric === undefined) return w;
      const v = paramNumber(w);
      if (v === undefined || v < 1n) return fail(`$${n} is the period of ${numeric}, a whole number of at least 1, but was given ${JSON.stringify(w)}`, `pass a positive number as parameter ${n}, e.g. ${command(at)} ${[...params.slice(0, n - 1), '1'].join(' ')}`);
      return v.toString();
    });

  const point = (p: ProbePoint): ProbePoint => {
    if (!p.text.includes('$')) return p;
    const parts = p.text.split(':');
    // The kind may be a parameter too ($1:sched:sched_switch): read it first, silently.
    const kind = part(parts[0]!, p, 0, undefined, undefined);
    // interval:s:$1, profile:hz:$1; interval:$1ms (tapfleet's form) but not interval:$1 alone, which may hold "5s".
    const numericPart = !NUMERIC_KINDS.has(kind) ? -1 : parts.length !== 2 ? 2 : /^\$[0-9]+$/.test(parts[1]!) ? -1 : 1;
    let offset = 0;
    failed = false;
    const out = parts.map((text, i) => {
      const done = part(text, p, offset, i === numericPart ? p.text : undefined, diags);
      offset += text.length + 1;
      return done;
    });
    return { ...p, text: out.join(':'), ...(failed ? { invalid: true as const } : {}) };
  };
  return {
    ...script,
    probes: script.probes.map((pr) => ({ ...pr, points: pr.points.map(point) })),
    aliases: script.aliases.map((a) => ({ ...a, variants: a.variants.map(point), ...(a.pairs ? { pairs: a.pairs.map(point) } : {}) })),
  };
}

/** The first `max` bytes of `s` in UTF-8, not splitting a character (a string's size is counted in bytes). */
function truncateBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}
