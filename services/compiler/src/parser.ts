import { span, type AggCall, type Alias, type Expr, type FinalDecl, type HopDecl, type PairKey, type Probe, type ProbePoint, type Script, type Stmt } from './ast.js';
import type { Diagnostics } from './diagnostics.js';
import { Lexer, type Token } from './lexer.js';
import { LIMITS } from './limits.js';
import type { Source, Span } from './source.js';

/** Aggregation functions: `@m = NAME(...)` with one of these is an aggregation, anything else a value. */
const AGGREGATION_NAMES: Record<string, true> = { count: true, sum: true, min: true, max: true, avg: true, stats: true, hist: true, lhist: true };

const BINARY_PRECEDENCE: Record<string, number> = {
  '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6,
  '<': 7, '<=': 7, '>': 7, '>=': 7, '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10,
};

/** bpftrace's BEGIN and END are begin and end here. */
const UPPER_SPECIAL: Record<string, string> = { BEGIN: 'begin', END: 'end' };

/** Raised inside the parser to unwind to the next statement or probe; already reported. */
class Bail extends Error {}

export class Parser {
  private readonly lex: Lexer;
  private readonly source: Source;
  private tok: Token;
  private pendingDoc: string | undefined;
  /** Tree depth, as written, of the expression the last expression rule returned (LIMITS.maxExpressionDepth). */
  private depth = 0;
  /** unary() frames on the stack: parentheses, unary operators, call arguments. */
  private exprNesting = 0;
  /** Blocks open around the current token, the probe body included (LIMITS.maxBlockDepth). */
  private blockNesting = 0;

  constructor(
    source: Source,
    private readonly diags: Diagnostics,
  ) {
    this.lex = new Lexer(source, diags);
    this.source = source;
    this.tok = this.advanceRaw();
  }

  private advanceRaw(): Token {
    const before = this.lex.pos;
    this.pendingDoc = this.lex.skipTrivia();
    this.lex.pos = Math.max(this.lex.pos, before);
    return this.lex.next();
  }

  /** End offset of the last token consumed, for spans of constructs that end in a token. */
  private consumedEnd = 0;

  private advance(): Token {
    const t = this.tok;
    this.consumedEnd = t.span.end;
    this.tok = this.advanceRaw();
    return t;
  }

  private atEof(): boolean {
    return this.tok.kind === 'eof';
  }

  private is(text: string): boolean {
    return (this.tok.kind === 'punct' || this.tok.kind === 'ident') && this.tok.text === text;
  }

  private expect(text: string, what?: string, hint?: string): Token {
    if (this.is(text)) return this.advance();
    this.fail(this.tok, `expected '${text}'${what ? ` ${what}` : ''}, found ${this.describe(this.tok)}`, hint);
  }

  private describe(t: Token): string {
    return t.kind === 'eof' ? 'end of file' : `'${t.text}'`;
  }

  private fail(t: Token, message: string, hint?: string): never {
    this.diags.error(t.span, message, hint);
    throw new Bail();
  }

  /** Reads a raw probe point starting where the current token starts. */
  private point(): ProbePoint {
    this.lex.pos = this.tok.span.start;
    const p = this.lex.point();
    if (p.text === '') this.fail(this.tok, `expected a probe point, found ${this.describe(this.tok)}`, 'expected a probe point like tracepoint:sched:sched_switch');
    this.tok = this.advanceRaw();
    // bpftrace spells the special points in capitals; both spellings are the same point here.
    return { text: UPPER_SPECIAL[p.text] ?? p.text, span: p.span };
  }

  /** A top-level keyword, not the first word of a point named like it (`hop.out { }`, an alias). */
  private isKeyword(word: string): boolean {
    if (!this.is(word)) return false;
    const next = this.source.text[this.tok.span.end];
    return next !== '.' && next !== ':';
  }

  /**
   * Whether the current token starts a probe clause written without `probe`, as bpftrace writes
   * them: a point with a kind or an alias name (`tracepoint:a:b`, `t:a:b`, `sched.switch`),
   * `BEGIN`/`END`/`begin`/`end`, or any word followed by the clause's `{`, `/` or `,` (an alias
   * of one word). A stray word before a point (`prob tracepoint:...`) is none of these.
   */
  private startsBareProbe(): boolean {
    if (this.tok.kind !== 'ident') return false;
    const saved = this.lex.pos;
    this.lex.pos = this.tok.span.start;
    const text = this.lex.point().text;
    this.lex.skipTrivia();
    const after = this.lex.peekChar();
    this.lex.pos = saved;
    return /[:.]/.test(text) || text in UPPER_SPECIAL || text === 'begin' || text === 'end' || after === '{' || after === '/' || after === ',';
  }

  parseScript(): Script {
    const script: Script = { probes: [], aliases: [], hops: [], finals: [] };
    while (this.tok.kind !== 'eof') {
      const start = this.tok;
      try {
        if (this.isKeyword('probe')) script.probes.push(this.probe());
        else if (this.isKeyword('alias')) script.aliases.push(this.alias());
        else if (this.isKeyword('hop')) script.hops.push(this.hop());
        else if (this.isKeyword('final')) script.finals.push(this.final());
        else if (this.isKeyword('struct')) this.structDefinition();
        else if (this.startsBareProbe()) script.probes.push(this.probe());
        else this.fail(this.tok, `expected a probe point, 'probe', 'alias', 'hop' or 'final', found ${this.describe(this.tok)}`, "a script is a list of probes, 'POINT [, POINT] [/predicate/] { ... }' (or 'probe POINT ...'), with points like tracepoint:sched:sched_switch or BEGIN");
      } catch (e) {
        if (!(e instanceof Bail)) throw e;
        this.recoverTopLevel(start);
      }
    }
    return script;
  }

  /** `struct NAME { ... };` at the top level (bpftrace hands it to clang for casts): one error, skipped whole. */
  private structDefinition(): void {
    const kw = this.advance();
    const name = this.tok.kind === 'ident' ? this.advance().text : '';
    this.diags.error(kw.span, `struct ${name} { ... } is a C struct definition, which tapfleet does not read`, 'bpftrace reads C definitions to cast kernel pointers ((struct x *)p)->field; tapfleet has no struct access: read tracepoint fields (args.FIELD) instead');
    if (this.is('{')) this.skipBalanced();
    if (this.is(';')) this.advance();
  }

  /** Skips to the next top-level keyword (`probe`, `alias`, `hop`, `final`) or, right after a `}`, a probe clause without `probe`. */
  private recoverTopLevel(from: Token): void {
    if (this.tok === from) this.advance();
    let afterBrace = false;
    while (this.tok.kind !== 'eof' && !['probe', 'alias', 'hop', 'final'].some((k) => this.isKeyword(k)) && !(afterBrace && this.startsBareProbe())) {
      afterBrace = this.is('}');
      this.advance();
    }
  }

  private eventRef(what: string): { name: string; span: Span } {
    const t = this.tok;
    return { name: this.identText(what), span: t.span };
  }

  /** `hop NAME = FROM -> TO;` (the arrow may be written `->` or `- >`). */
  private hop(): HopDecl {
    const kw = this.expect('hop');
    const name = this.identText("a hop name, as in 'hop risk = gateway_out -> risk_in;'");
    this.expect('=', `after the hop name '${name}'`);
    const from = this.eventRef('the event the hop starts at');
    if (!this.is('-')) this.fail(this.tok, `expected '->' after '${from.name}', found ${this.describe(this.tok)}`, `write hop ${name} = ${from.name} -> OTHER_EVENT;`);
    this.advance();
    this.expect('>', "to finish '->'");
    const to = this.eventRef('the event the hop ends at');
    this.expect(';', 'after the hop declaration');
    return { name, from, to, span: span(kw.span, this.prevEnd()) };
  }

  /** `final EVENT[, EVENT...];` */
  private final(): FinalDecl {
    const kw = this.expect('final');
    const events = [this.eventRef("the event that closes a transaction, as in 'final match_ack;'")];
    while (this.is(',')) {
      this.advance();
      events.push(this.eventRef('another final event'));
    }
    this.expect(';', 'after the final declaration');
    return { events, span: span(kw.span, this.prevEnd()) };
  }

  /** `[probe] POINT [, POINT ...] [/predicate/] { ... }`: the keyword is optional, as in bpftrace. */
  private probe(): Probe {
    const kw = this.isKeyword('probe') ? this.advance() : this.tok;
    const points = [this.point()];
    while (this.is(',')) {
      this.advance();
      points.push(this.point());
    }
    let predicate: Expr | undefined;
    if (this.is('/')) {
      this.advance();
      predicate = this.expr(0, true);
      this.expect('/', 'to close the predicate');
    }
    const body = this.block();
    return { points, ...(predicate ? { predicate } : {}), body, span: span(kw.span, this.prevEnd()) };
  }

  private alias(): Alias {
    const doc = this.pendingDoc;
    const kw = this.expect('alias');
    const nameParts = [this.identText('an alias name')];
    while (this.is('.')) {
      this.advance();
      nameParts.push(this.identText('the rest of the alias name'));
    }
    const name = nameParts.join('.');
    let version: number | undefined;
    if (this.tok.kind === 'map' && this.tok.text === '@') {
      this.advance();
      version = this.aliasVersion(name);
    } else if (this.tok.kind === 'map') {
      // `x@two` lexes as a map name: still a version, just not a number.
      this.fail(this.tok, `expected a version number after '${name}@', found '${this.tok.text.slice(1)}'`, `versions are positive integers: alias ${name}@2 = ...`);
    }
    this.expect('=', 'after the alias name');
    const variants = [this.point()];
    while (this.is('|')) {
      this.advance();
      variants.push(this.point());
    }
    const endKey = this.is('key') ? this.pairKey() : undefined;
    let pairs: ProbePoint[] | undefined;
    let startKey: PairKey | undefined;
    if (this.is('pairs')) {
      this.advance();
      pairs = [this.point()];
      while (this.is(',')) {
        this.advance();
        pairs.push(this.point());
      }
      if (this.is('key')) startKey = this.pairKey();
    }
    const assigns = this.is('{') ? this.block() : [];
    for (const s of assigns)
      if (s.kind !== 'let') this.diags.error(s.span, 'an alias body may only assign locals', 'write $name = expr;');
    this.checkPairKeys(name, pairs, startKey, endKey);
    return {
      name, ...(version !== undefined ? { version } : {}), variants, ...(pairs ? { pairs } : {}),
      ...(startKey ? { startKey } : {}), ...(endKey ? { endKey } : {}),
      assigns, ...(doc ? { doc } : {}), span: span(kw.span, this.prevEnd()),
    };
  }

  /** The N of `alias NAME@N`: a positive integer. */
  private aliasVersion(name: string): number {
    const t = this.tok;
    if (t.kind !== 'int' || (t.value as bigint) < 1n || (t.value as bigint) > 1_000_000n)
      this.fail(t, `expected a version number after '${name}@', found ${this.describe(t)}`, `versions are positive integers: alias ${name}@2 = ...`);
    this.advance();
    return Number(t.value as bigint);
  }

  /** `key EXPR` or `key (EXPR, EXPR, ...)`. */
  private pairKey(): PairKey {
    const kw = this.advance();
    if (this.is('(')) {
      this.advance();
      const exprs = this.exprList();
      const close = this.expect(')', 'to close the key');
      return { exprs, span: span(kw.span, close.span) };
    }
    const e = this.expr(0);
    return { exprs: [e], span: span(kw.span, e.span) };
  }

  /** Keys match the two sides of a pair: both sides or neither, the same number of values. */
  private checkPairKeys(name: string, pairs: ProbePoint[] | undefined, startKey: PairKey | undefined, endKey: PairKey | undefined): void {
    if (!pairs) {
      if (endKey) this.diags.error(endKey.span, `alias ${name} has a key but no pairs: a key matches the start of a pair with its end`, `write ${name} = END key EXPR pairs START key EXPR, or drop the key`);
      return;
    }
    if (endKey && !startKey)
      this.diags.error(endKey.span, `alias ${name} keys its end but not its start`, 'give the start points a key too: ... pairs START key EXPR (without keys both sides match on the current thread)');
    else if (startKey && !endKey)
      this.diags.error(startKey.span, `alias ${name} keys its start but not its end`, 'give the end point a key too: END key EXPR pairs START key EXPR (without keys both sides match on the current thread)');
    else if (startKey && endKey && startKey.exprs.length !== endKey.exprs.length)
      this.diags.error(startKey.span, `the start key of alias ${name} has ${startKey.exprs.length} value(s), its end key ${endKey.exprs.length}`, 'a start matches an end when every value of its key equals the same value of the other side\'s');
    for (const k of [startKey, endKey])
      if (k && k.exprs.length > LIMITS.maxPairKeyExprs)
        this.diags.error(k.span, `a pair key holds at most ${LIMITS.maxPairKeyExprs} values, this one ${k.exprs.length}`, 'combine values arithmetically, e.g. (dev << 40) ^ sector');
  }

  private lastEnd = 0;
  private prevEnd() {
    return { source: this.tok.span.source, start: this.lastEnd, end: this.lastEnd };
  }

  private identText(what: string): string {
    if (this.tok.kind !== 'ident') this.fail(this.tok, `expected ${what}, found ${this.describe(this.tok)}`);
    return this.advance().text;
  }

  private block(): Stmt[] {
    if (this.is('{') && this.blockNesting >= LIMITS.maxBlockDepth) {
      this.diags.error(this.tok.span, `blocks are nested more than ${LIMITS.maxBlockDepth} deep`, 'each if, else and else if opens a level; flatten the logic with && and ||, or split it across probes');
      this.skipBalanced();
      return [];
    }
    const open = this.tok;
    this.expect('{', 'to open the probe body');
    this.blockNesting++;
    try {
      const stmts: Stmt[] = [];
      while (!this.is('}')) {
        if (this.atEof()) this.fail(this.tok, "expected '}' to close the block, found end of file");
        // The next probe where a statement should be: a block left open. One error, once (the
        // enclosing blocks close here too), and the probe ends so the next one is read as one.
        if (this.unclosedAt === this.tok) return stmts;
        if (this.startsNextProbe()) {
          const { line, col } = open.span.source.position(open.span.start);
          this.diags.error(this.tok.span, `expected '}' to close the block opened at ${line}:${col} before the next probe`);
          this.unclosedAt = this.tok;
          return stmts;
        }
        try {
          const s = this.statement();
          if (Array.isArray(s)) stmts.push(...s);
          else stmts.push(s);
        } catch (e) {
          if (!(e instanceof Bail)) throw e;
          this.skipStatement();
        }
      }
      this.lastEnd = this.tok.span.end;
      this.advance();
      return stmts;
    } finally {
      this.blockNesting--;
    }
  }

  /** Where a block left open was reported: the probe that starts there. */
  private unclosedAt: Token | undefined;

  /** A statement's place holding the start of a probe: `probe`, a point with a kind (`tracepoint:...`, never a statement), or BEGIN/END before `{`. */
  private startsNextProbe(): boolean {
    if (this.isKeyword('probe')) return true;
    if (this.tok.kind !== 'ident') return false;
    const saved = this.lex.pos;
    this.lex.pos = this.tok.span.start;
    const text = this.lex.point().text;
    this.lex.skipTrivia();
    const after = this.lex.peekChar();
    this.lex.pos = saved;
    return /^[a-z]+:/.test(text) || (text in UPPER_SPECIAL && after === '{');
  }

  /** Skips a `{ ... }` group (the current token is its `{`) without recursion, however deep it is. */
  private skipBalanced(): void {
    let depth = 0;
    do {
      if (this.is('{')) depth++;
      else if (this.is('}')) depth--;
      this.lastEnd = this.tok.span.end;
      this.advance();
    } while (depth > 0 && !this.atEof());
  }

  /**
   * Error recovery: skips to the end of the statement the parser gave up on, stepping
   * over nested brackets iteratively (an over-deep construct must not be re-parsed),
   * and stops before the `}` of the enclosing block.
   */
  private skipStatement(): void {
    let depth = 0;
    while (!this.atEof()) {
      if (depth === 0 && this.is('}')) return;
      const t = this.advance();
      if (t.kind !== 'punct') continue;
      if (t.text === '(' || t.text === '[' || t.text === '{') depth++;
      else if (t.text === ')' || t.text === ']') depth = Math.max(0, depth - 1);
      else if (t.text === '}') {
        depth = Math.max(0, depth - 1);
        if (depth === 0 && !this.is('else')) {
          if (this.is(';')) this.advance();
          return;
        }
      } else if (t.text === ';' && depth === 0) return;
    }
  }

  private endStatement(): void {
    if (this.is(';')) this.advance();
    else if (!this.is('}')) this.fail(this.tok, `expected ';' after the statement, found ${this.describe(this.tok)}`);
  }

  /** A statement; bpftrace's join() is several (see join()). */
  private statement(): Stmt | Stmt[] {
    const t = this.tok;
    if (this.is('join') && this.source.text[this.tok.span.end] === '(') return this.join();
    if (t.kind === 'var') {
      this.advance();
      this.expect('=', `after ${t.text}`);
      const value = this.expr(0);
      this.endStatement();
      return { kind: 'let', name: t.text.slice(1), value, span: span(t.span, value.span) };
    }
    if (t.kind === 'param') this.fail(t, `${t.text} is a positional parameter (a word given after the script), not a variable: it cannot be assigned`, `copy it into a local: $x = ${t.text};`);
    if (t.kind === 'map') return this.mapStatement();
    if (this.is('emit')) return this.emit();
    if (this.is('printf')) return this.printf();
    if (this.is('exit')) return this.exit();
    if (this.is('time')) return this.time();
    if (this.is('if')) return this.ifStatement();
    if (this.is('print') || this.is('clear') || this.is('delete')) {
      const kw = this.advance();
      this.expect('(');
      if (this.tok.kind !== 'map') this.fail(this.tok, `${kw.text}() takes a map like @name, found ${this.describe(this.tok)}`);
      const map = this.advance().text;
      // delete(@x) of a scalar map has no key; typecheck matches the key count with the map's.
      const keys = kw.text === 'delete' ? this.mapKeys() : [];
      const extra = kw.text === 'print' ? this.printArguments() : {};
      const close = this.expect(')');
      this.endStatement();
      const s = span(kw.span, close.span);
      if (kw.text === 'delete') return { kind: 'delete', map, keys, span: s };
      return kw.text === 'print' ? { kind: 'print', map, ...extra, span: s } : { kind: 'clear', map, span: s };
    }
    if (t.kind === 'ident' && t.text in AGGREGATION_NAMES) this.bareAggregation(t);
    this.fail(t, `expected a statement, found ${this.describe(t)}`, 'statements are $x = expr; @map[keys] = count(); emit name { f: expr }; if (...) { } print(@m);');
  }

  /** `count();` as a statement (bpftrace needs a map too): say where it goes. */
  private bareAggregation(t: Token): never {
    const call = `${t.text}(${t.text === 'count' ? '' : '...'})`;
    this.fail(t, `${t.text}() must be assigned to a map`, `write @name = ${call}; or @name[key] = ${call}; (bpftrace's @ alone works too: @[comm] = ${call};)`);
  }

  /** `, top[, div]` after print()'s map: integer constants (typecheck bounds them). */
  private printArguments(): { top?: { value: bigint; span: Span }; div?: { value: bigint; span: Span } } {
    const constant = (what: string) => {
      const t = this.tok;
      if (t.kind !== 'int') this.fail(t, `print()'s ${what} must be an integer constant, found ${this.describe(t)}`, 'print(@map), print(@map, 10) for the 10 largest entries, print(@map, 10, 1000) dividing values by 1000');
      this.advance();
      return { value: t.value as bigint, span: t.span };
    };
    if (!this.is(',')) return {};
    this.advance();
    const top = constant('second argument (how many of the largest entries)');
    if (!this.is(',')) return { top };
    this.advance();
    return { top, div: constant('third argument (the divisor of the values)') };
  }

  private mapKeys(): Expr[] {
    const keys: Expr[] = [];
    if (!this.is('[')) return keys;
    this.advance();
    keys.push(this.expr(0));
    while (this.is(',')) {
      this.advance();
      keys.push(this.expr(0));
    }
    this.expect(']', 'to close the map key');
    return keys;
  }

  /** True when the current token and the next source character touch, as `+` `+` in `@x++`. */
  private touching(c: string): boolean {
    return this.tok.kind === 'punct' && this.source.text[this.tok.span.end] === c;
  }

  /**
   * `@m[KEYS] = AGG(...)` (an aggregation), `@m[KEYS] = EXPR` (a value), `@m[KEYS]++` / `--`
   * and `@m[KEYS] += EXPR` / `-=` (a read and a store of the value, as in bpftrace).
   */
  private mapStatement(): Stmt {
    const m = this.advance();
    const keys = this.mapKeys();
    const target: Expr = { kind: 'mapread', map: m.text, keys, span: span(m.span, this.prevTokEnd()) };
    const op = this.tok.text;
    if ((this.is('+') || this.is('-')) && (this.touching(op) || this.touching('='))) {
      this.advance();
      const second = this.advance();
      let value: Expr;
      if (second.text === '=') value = this.expr(0);
      else if (second.text === op) value = { kind: 'int', value: 1n, span: second.span };
      else this.fail(second, `expected '${op}${op}' or '${op}=' after ${m.text}`);
      this.endStatement();
      const whole = span(m.span, value.span);
      return { kind: 'assign', map: m.text, keys, value: { kind: 'binary', op, left: target, right: value, span: whole }, span: whole };
    }
    this.expect('=', `after ${m.text}`, `write ${m.text}${keys.length ? '[...]' : ''} = count(); (an aggregation) or ${m.text}${keys.length ? '[...]' : ''} = EXPR; (a value)`);
    if (this.tok.kind === 'ident' && this.tok.text in AGGREGATION_NAMES && /^\s*\(/.test(this.source.text.slice(this.tok.span.end, this.tok.span.end + 64))) return this.aggregation(m, keys);
    const value = this.expr(0);
    this.endStatement();
    return { kind: 'assign', map: m.text, keys, value, span: span(m.span, value.span) };
  }

  private prevTokEnd(): Span {
    return { source: this.tok.span.source, start: this.consumedEnd, end: this.consumedEnd };
  }

  private aggregation(m: Token, keys: Expr[]): Stmt {
    const fn = this.advance();
    this.expect('(', `after ${fn.text}`);
    const args = this.is(')') ? [] : this.exprList();
    const close = this.expect(')');
    if (!this.is(';') && !this.is('}'))
      this.fail(this.tok, `an aggregation is a whole statement: ${m.text} = ${fn.text}(...) cannot be combined with ${this.describe(this.tok)}`, `aggregate the expression instead, e.g. ${m.text} = sum(EXPR); or keep a value: ${m.text}_v = EXPR;`);
    this.endStatement();
    const call: AggCall = { fn: fn.text, args, span: span(fn.span, close.span) };
    return { kind: 'agg', map: m.text, keys, call, span: span(m.span, close.span) };
  }

  private emit(): Stmt {
    const kw = this.advance();
    const name = this.identText('an event name after emit');
    this.expect('{', `after emit ${name}`);
    const fields: { name: string; value: Expr; span: Span }[] = [];
    try {
      while (!this.is('}')) {
        const f = this.tok;
        const fname = this.identText('a field name');
        this.expect(':', `after field ${fname}`);
        const value = this.expr(0);
        fields.push({ name: fname, value, span: span(f.span, value.span) });
        if (!this.is(',')) break;
        this.advance();
      }
    } catch (e) {
      if (!(e instanceof Bail)) throw e;
      // Already reported: skip to this event's own `}` so the enclosing block stays in step.
      this.skipStatement();
    }
    const close = this.expect('}', 'to close the event');
    if (this.is(';')) this.advance();
    return { kind: 'emit', event: name, fields, span: span(kw.span, close.span) };
  }

  /** `printf("format", EXPR, ...)`: the format must be a literal, so it is checked at compile time. */
  private printf(): Stmt {
    const kw = this.advance();
    this.expect('(', 'after printf');
    const fmt = this.tok;
    if (fmt.kind !== 'string') this.fail(fmt, `printf() takes a format string first, found ${this.describe(fmt)}`, 'write printf("pid %d opened %s\\n", pid, str(args.filename))');
    this.advance();
    const args: Expr[] = [];
    while (this.is(',')) {
      this.advance();
      args.push(this.expr(0));
    }
    const close = this.expect(')', 'to close printf(');
    this.endStatement();
    return { kind: 'printf', format: fmt.value as string, formatSpan: fmt.span, args, span: span(kw.span, close.span) };
  }

  /**
   * `time("FORMAT")` (bpftrace's; `time()` is `time("%H:%M:%S\n")`): the current local time as
   * strftime(3) formats it. Read as printf("%s", strftime(FORMAT, nsecs)), so it is printed in
   * order with the printf() lines around it, by the same path.
   */
  private time(): Stmt {
    const kw = this.advance();
    this.expect('(', 'after time');
    let format: Expr = { kind: 'string', value: '%H:%M:%S\n', span: kw.span };
    if (!this.is(')')) {
      const fmt = this.tok;
      if (fmt.kind !== 'string') this.fail(fmt, `time() takes a strftime format string literal, found ${this.describe(fmt)}`, 'write time("%H:%M:%S\\n"), or time() for that format');
      this.advance();
      format = { kind: 'string', value: fmt.value as string, span: fmt.span };
    }
    const close = this.expect(')', 'time() takes one format string');
    this.endStatement();
    const at = span(kw.span, close.span);
    const strftime: Expr = { kind: 'call', name: 'strftime', args: [format, { kind: 'builtin', name: 'nsecs', span: kw.span }], span: at };
    return { kind: 'printf', format: '%s', formatSpan: format.span, args: [strftime], span: at };
  }

  /**
   * bpftrace's `join(ARRAY[, "DELIM"])` (execsnoop.bt's `join(args->argv)`): the strings a user
   * array of pointers points to, up to its first NULL or empty string and at most 16 of them, on one
   * line, DELIM (a space) between them. Written out here as what it does: the pointers read into
   * locals, each one only while every one before it was set, then one printf() whose arguments are
   * each string and the delimiter before it, or "" past the end.
   */
  private join(): Stmt[] {
    const kw = this.advance();
    this.expect('(', 'after join');
    const array = this.expr(0);
    let delim = ' ';
    if (this.is(',')) {
      this.advance();
      if (this.tok.kind !== 'string') this.fail(this.tok, `join()'s delimiter must be a string literal, found ${this.describe(this.tok)}`, 'join(args->argv) or join(args->argv, ",")');
      delim = this.advance().value as string;
    }
    const close = this.expect(')', 'to close join(');
    this.endStatement();
    const at = span(kw.span, close.span);
    const localName = (i: number) => `__tf_join${this.joins}_${i}`;
    const local = (i: number): Expr => ({ kind: 'var', name: localName(i), span: at });
    const int = (value: bigint): Expr => ({ kind: 'int', value, span: at });
    const str = (value: string): Expr => ({ kind: 'string', value, span: at });
    const lets: Stmt[] = [];
    const args: Expr[] = [];
    for (let i = 0; i < JOIN_MAX_ARGS; i++) {
      const slot: Expr = { kind: 'binary', op: '+', left: array, right: int(BigInt(8 * i)), span: at };
      const read: Expr = { kind: 'call', name: 'u64', args: [slot], span: at };
      const value: Expr = i === 0 ? read : { kind: 'ternary', cond: local(i - 1), then: read, else: int(0n), span: at };
      const name = localName(i);
      lets.push({ kind: 'let', name, value, span: at });
      // bpftrace 0.17 also stops at an empty string: `a '' b` prints as "a".
      const nonEmpty: Expr = { kind: 'call', name: 'u8', args: [local(i)], span: at };
      lets.push({ kind: 'let', name, value: { kind: 'ternary', cond: local(i), then: { kind: 'ternary', cond: nonEmpty, then: local(i), else: int(0n), span: at }, else: int(0n), span: at }, span: at });
      if (i > 0) args.push({ kind: 'ternary', cond: local(i), then: str(delim), else: str(''), span: at });
      const text: Expr = { kind: 'call', name: 'str', args: [local(i), int(BigInt(JOIN_ARG_BYTES))], span: at };
      args.push({ kind: 'ternary', cond: local(i), then: text, else: str(''), span: at });
    }
    this.joins++;
    const format = `${'%s'.repeat(args.length)}\n`;
    return [...lets, { kind: 'printf', format, formatSpan: at, args, span: at }];
  }

  /** join() calls so far: each one's locals have names of their own. */
  private joins = 0;

  private exit(): Stmt {
    const kw = this.advance();
    this.expect('(', 'after exit');
    const close = this.expect(')', 'exit() takes no arguments');
    this.endStatement();
    return { kind: 'exit', span: span(kw.span, close.span) };
  }

  private ifStatement(): Stmt {
    const kw = this.advance();
    this.expect('(', 'after if');
    const cond = this.expr(0);
    this.expect(')', 'to close the condition');
    const then = this.block();
    let otherwise: Stmt[] = [];
    if (this.is('else')) {
      this.advance();
      otherwise = this.is('if') ? this.elseIf() : this.block();
    }
    return { kind: 'if', cond, then, else: otherwise, span: span(kw.span, this.prevEnd()) };
  }

  /** `else if`: a block nested in the else branch, so it counts one level of block nesting. */
  private elseIf(): Stmt[] {
    // Its body opens one level further in: refuse the else if itself, not its body.
    if (this.blockNesting + 1 >= LIMITS.maxBlockDepth) {
      this.diags.error(this.tok.span, `blocks are nested more than ${LIMITS.maxBlockDepth} deep (each else if is one level deeper)`, 'flatten a long else-if chain into independent ifs with exclusive conditions, or split it across probes');
      this.skipStatement();
      return [];
    }
    this.blockNesting++;
    try {
      return [this.ifStatement()];
    } finally {
      this.blockNesting--;
    }
  }

  /** Returns `e`, one level deeper than its deepest operand (`childDepth`); refuses it past the limit at `at`. */
  private nested<E extends Expr>(e: E, at: Token, childDepth: number): E {
    this.depth = childDepth + 1;
    if (this.depth > LIMITS.maxExpressionDepth) this.tooDeep(at);
    return e;
  }

  private tooDeep(at: Token): never {
    this.fail(at, `expression nested more than ${LIMITS.maxExpressionDepth} levels deep`, 'each operator, parenthesis and call is one level, and so is each link of a chain like a + b + c: compute parts into $locals');
  }

  /** Leaves the deepest element's depth in `this.depth`. */
  private exprList(): Expr[] {
    const list = [this.expr(0)];
    let deepest = this.depth;
    while (this.is(',')) {
      this.advance();
      list.push(this.expr(0));
      deepest = Math.max(deepest, this.depth);
    }
    this.depth = deepest;
    return list;
  }

  /** An expression; at the lowest precedence, `COND ? A : B` (right-associative, below `||`, as in C). */
  private expr(minPrec: number, inPredicate = false): Expr {
    const cond = this.binaryExpr(minPrec, inPredicate);
    if (minPrec > 0 || !this.is('?')) return cond;
    const q = this.advance();
    const condDepth = this.depth;
    const then = this.expr(0);
    const thenDepth = this.depth;
    this.expect(':', `after '? ${this.source.text.slice(then.span.start, then.span.end)}'`, "a conditional expression is COND ? A : B");
    const other = this.expr(0, inPredicate);
    return this.nested({ kind: 'ternary', cond, then, else: other, span: span(cond.span, other.span) }, q, Math.max(condDepth, thenDepth, this.depth));
  }

  /** Precedence climbing. Inside a predicate a bare `/` ends the expression. */
  private binaryExpr(minPrec: number, inPredicate: boolean): Expr {
    let left = this.unary();
    let leftDepth = this.depth;
    for (;;) {
      const op = this.tok.text;
      const prec = this.tok.kind === 'punct' ? BINARY_PRECEDENCE[op] : undefined;
      if (prec === undefined || prec <= minPrec || (inPredicate && op === '/')) {
        this.depth = leftDepth;
        return left;
      }
      const opTok = this.advance();
      const right = this.binaryExpr(prec, inPredicate);
      left = this.nested({ kind: 'binary', op, left, right, span: span(left.span, right.span) }, opTok, Math.max(leftDepth, this.depth));
      leftDepth = this.depth;
    }
  }

  /** Every nested expression passes here, so this guard bounds the parser's recursion. */
  private unary(): Expr {
    if (this.exprNesting >= LIMITS.maxExpressionDepth) this.tooDeep(this.tok);
    this.exprNesting++;
    try {
      // bpftrace's `*PTR` reads kernel memory (loads.bt: *kaddr("avenrun")): refused, once, as struct access is.
      if (this.is('*')) {
        const star = this.advance();
        const operand = this.unary();
        this.structAccess(star.span, `*${this.source.text.slice(operand.span.start, operand.span.end)} reads kernel memory through a pointer, which tapfleet cannot do: it has no BTF struct or kernel memory access`, 'read user memory with u64(PTR) (u8 .. s64 for other widths); kernel data comes from tracepoint fields (args.FIELD)');
        return { kind: 'int', value: 0n, span: span(star.span, operand.span), refused: true };
      }
      if (this.tok.kind === 'punct' && ['!', '-', '~'].includes(this.tok.text)) {
        const op = this.advance();
        const expr = this.unary();
        return this.nested({ kind: 'unary', op: op.text, expr, span: span(op.span, expr.span) }, op, this.depth);
      }
      return this.primary();
    } finally {
      this.exprNesting--;
    }
  }

  /** After `(`: a type name and `)` (`(int8)`), or `struct` (a cast to a kernel struct pointer, refused with its reason). */
  private startsCast(): boolean {
    if (this.tok.kind !== 'ident') return false;
    if (this.tok.text === 'struct') return true;
    return this.tok.text in CAST_TYPES && /^\s*\)/.test(this.source.text.slice(this.tok.span.end, this.tok.span.end + 64));
  }

  /** `(TYPE)EXPR`, the `(` consumed: an integer cast binds as tightly as a unary operator. */
  private cast(open: Token): Expr {
    const t = this.tok;
    if (t.text === 'struct') {
      const close = this.source.text.indexOf(')', t.span.end);
      const written = this.source.text.slice(open.span.start, close < 0 ? t.span.end : close + 1).replace(/\s+/g, ' ');
      this.structAccess(t.span, `${written} is a cast to a kernel struct, which tapfleet cannot read: it has no BTF struct access (curtask->..., $p->field)`);
      while (!this.is(')') && !this.is(';') && !this.is('}') && !this.atEof()) this.advance();
      this.expect(')');
      // The operand is parsed (its own errors count); the cast stands for a 0 so that the
      // statement's local exists and nothing after it is reported again.
      const operand = this.unary();
      return { kind: 'int', value: 0n, span: span(open.span, operand.span), refused: true };
    }
    this.advance();
    this.expect(')');
    const expr = this.unary();
    return this.nested({ kind: 'cast', ...CAST_TYPES[t.text]!, expr, span: span(open.span, expr.span) }, open, this.depth);
  }

  /**
   * bpftrace's struct access: `$task->real_parent`, `args->rqtp->tv_sec`, `$sk->__sk_common.skc_family`.
   * Reported once a script (the first place; the rest would say the same), read past, and left a 0.
   */
  private structAccess(at: Span, message: string, hint = 'read what a tracepoint passes instead (args.FIELD; `tapfleet check` lists the fields); a user-space struct (a syscall\'s pointer argument) has its integer fields read with u64(PTR + OFFSET), e.g. u64(args->rqtp) and u64(args->rqtp + 8) for a timespec'): void {
    if (!this.structAccessReported) this.diags.error(at, message, hint);
    this.structAccessReported = true;
  }

  private structAccessReported = false;

  /** A primary, then any `->field` / `.field` chain after it (struct access, refused: see structAccess). */
  private primary(): Expr {
    const e = this.primaryOnly();
    if (!(this.is('-') && this.touching('>'))) return e;
    const start = this.tok.span;
    const base = this.source.text.slice(e.span.start, e.span.end);
    while ((this.is('-') && this.touching('>')) || this.is('.')) {
      if (this.is('-')) this.advance();
      this.advance();
      this.identText('a field name');
    }
    const whole = span(e.span, this.prevTokEnd());
    const written = this.source.text.slice(whole.start, whole.end);
    this.structAccess(start, `${written} reads through the pointer ${base}, a struct tapfleet cannot read: it has no BTF struct access`);
    return { kind: 'int', value: 0n, span: whole, refused: true };
  }

  private primaryOnly(): Expr {
    const t = this.tok;
    this.depth = 1; // a leaf; the compound forms below set their own
    if (t.kind === 'int') {
      this.advance();
      return { kind: 'int', value: t.value as bigint, span: t.span };
    }
    if (t.kind === 'string') {
      this.advance();
      return { kind: 'string', value: t.value as string, span: t.span };
    }
    if (t.kind === 'var') {
      this.advance();
      return { kind: 'var', name: t.text.slice(1), span: t.span };
    }
    if (t.kind === 'param') {
      this.advance();
      // `$99999999999` names no parameter anyone passes: an index past the safe integers stays out of range.
      const index = t.text === '$#' ? '#' : Math.min(Number(t.text.slice(1)), Number.MAX_SAFE_INTEGER);
      return { kind: 'param', index, span: t.span };
    }
    if (t.kind === 'map' && t.text !== '@entry') {
      this.advance();
      const keys = this.mapKeys();
      const argsDepth = keys.length ? this.depth : 0;
      return this.nested({ kind: 'mapread', map: t.text, keys, span: span(t.span, this.prevTokEnd()) }, t, argsDepth);
    }
    if (t.kind === 'map' && t.text === '@entry') {
      this.advance();
      this.expect('(', 'after @entry');
      const expr = this.expr(0);
      const close = this.expect(')');
      return this.nested({ kind: 'entry', expr, span: span(t.span, close.span) }, t, this.depth);
    }
    if (this.is('(')) {
      const open = this.advance();
      if (this.startsCast()) return this.cast(open);
      const e = this.expr(0, false);
      this.expect(')');
      // A parenthesis is a level as written, though it makes no node.
      return this.nested(e, open, this.depth);
    }
    if (t.kind === 'ident') {
      this.advance();
      // `args->x` is bpftrace's spelling of `args.x`.
      const arrow = t.text === 'args' && this.is('-') && this.touching('>');
      if (arrow) this.advance();
      if (t.text === 'args' && (this.is('.') || arrow)) {
        this.advance();
        const f = this.tok;
        const name = this.identText('a tracepoint field after args.');
        return { kind: 'field', name, span: span(t.span, f.span) };
      }
      if (this.is('(')) {
        this.advance();
        const args = this.is(')') ? [] : this.exprList();
        const argsDepth = args.length ? this.depth : 0;
        const close = this.expect(')');
        return this.nested({ kind: 'call', name: t.text, args, span: span(t.span, close.span) }, t, argsDepth);
      }
      const argMatch = /^arg([0-9])$/.exec(t.text);
      if (argMatch) return { kind: 'arg', index: Number(argMatch[1]), span: t.span };
      return { kind: 'builtin', name: t.text, span: t.span };
    }
    this.fail(t, `expected an expression, found ${this.describe(t)}`);
  }
}

/** join(): the most strings one call prints (bpftrace 0.17's default) and the bytes kept of each, NUL included. */
const JOIN_MAX_ARGS = 16;
const JOIN_ARG_BYTES = 256;

/** bpftrace 0.17's integer cast types. */
const CAST_TYPES: Record<string, { signed: boolean; bits: 8 | 16 | 32 | 64 }> = {
  int8: { signed: true, bits: 8 }, int16: { signed: true, bits: 16 }, int32: { signed: true, bits: 32 }, int64: { signed: true, bits: 64 },
  uint8: { signed: false, bits: 8 }, uint16: { signed: false, bits: 16 }, uint32: { signed: false, bits: 32 }, uint64: { signed: false, bits: 64 },
};

export function parse(source: Source, diags: Diagnostics): Script {
  return new Parser(source, diags).parseScript();
}
