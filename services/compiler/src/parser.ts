import { span, type AggCall, type Alias, type Expr, type Probe, type ProbePoint, type Script, type Stmt } from './ast.js';
import type { Diagnostics } from './diagnostics.js';
import { Lexer, type Token } from './lexer.js';
import type { Source, Span } from './source.js';

const BINARY_PRECEDENCE: Record<string, number> = {
  '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6,
  '<': 7, '<=': 7, '>': 7, '>=': 7, '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10,
};

/** Raised inside the parser to unwind to the next statement or probe; already reported. */
class Bail extends Error {}

export class Parser {
  private readonly lex: Lexer;
  private tok: Token;
  private pendingDoc: string | undefined;

  constructor(
    source: Source,
    private readonly diags: Diagnostics,
  ) {
    this.lex = new Lexer(source, diags);
    this.tok = this.advanceRaw();
  }

  private advanceRaw(): Token {
    const before = this.lex.pos;
    this.pendingDoc = this.lex.skipTrivia();
    this.lex.pos = Math.max(this.lex.pos, before);
    return this.lex.next();
  }

  private advance(): Token {
    const t = this.tok;
    this.tok = this.advanceRaw();
    return t;
  }

  private atEof(): boolean {
    return this.tok.kind === 'eof';
  }

  private is(text: string): boolean {
    return (this.tok.kind === 'punct' || this.tok.kind === 'ident') && this.tok.text === text;
  }

  private expect(text: string, what?: string): Token {
    if (this.is(text)) return this.advance();
    this.fail(this.tok, `expected '${text}'${what ? ` ${what}` : ''}, found ${this.describe(this.tok)}`);
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
    return { text: p.text, span: p.span };
  }

  parseScript(): Script {
    const script: Script = { probes: [], aliases: [] };
    while (this.tok.kind !== 'eof') {
      const start = this.tok;
      try {
        if (this.is('probe')) script.probes.push(this.probe());
        else if (this.is('alias')) script.aliases.push(this.alias());
        else this.fail(this.tok, `expected 'probe' or 'alias', found ${this.describe(this.tok)}`, "a script is a list of 'probe POINT [/predicate/] { ... }'");
      } catch (e) {
        if (!(e instanceof Bail)) throw e;
        this.recoverTopLevel(start);
      }
    }
    return script;
  }

  /** Skips to the next `probe`/`alias` keyword at the start of a statement. */
  private recoverTopLevel(from: Token): void {
    if (this.tok === from) this.advance();
    while (this.tok.kind !== 'eof' && !this.is('probe') && !this.is('alias')) this.advance();
  }

  private probe(): Probe {
    const kw = this.expect('probe');
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
    this.expect('=', 'after the alias name');
    const variants = [this.point()];
    while (this.is('|')) {
      this.advance();
      variants.push(this.point());
    }
    let pairs: ProbePoint | undefined;
    if (this.is('pairs')) {
      this.advance();
      pairs = this.point();
    }
    const assigns = this.is('{') ? this.block() : [];
    for (const s of assigns)
      if (s.kind !== 'let') this.diags.error(s.span, 'an alias body may only assign locals', 'write $name = expr;');
    return { name: nameParts.join('.'), variants, ...(pairs ? { pairs } : {}), assigns, ...(doc ? { doc } : {}), span: span(kw.span, this.prevEnd()) };
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
    this.expect('{', 'to open the probe body');
    const stmts: Stmt[] = [];
    while (!this.is('}')) {
      if (this.atEof()) this.fail(this.tok, "expected '}' to close the block, found end of file");
      try {
        stmts.push(this.statement());
      } catch (e) {
        if (!(e instanceof Bail)) throw e;
        // Resynchronise at the next statement boundary inside this block.
        while (this.tok.kind !== 'eof' && !this.is(';') && !this.is('}')) this.advance();
        if (this.is(';')) this.advance();
      }
    }
    this.lastEnd = this.tok.span.end;
    this.advance();
    return stmts;
  }

  private endStatement(): void {
    if (this.is(';')) this.advance();
    else if (!this.is('}')) this.fail(this.tok, `expected ';' after the statement, found ${this.describe(this.tok)}`);
  }

  private statement(): Stmt {
    const t = this.tok;
    if (t.kind === 'var') {
      this.advance();
      this.expect('=', `after ${t.text}`);
      const value = this.expr(0);
      this.endStatement();
      return { kind: 'let', name: t.text.slice(1), value, span: span(t.span, value.span) };
    }
    if (t.kind === 'map') return this.aggregation();
    if (this.is('emit')) return this.emit();
    if (this.is('if')) return this.ifStatement();
    if (this.is('print') || this.is('clear') || this.is('delete')) {
      const kw = this.advance();
      this.expect('(');
      if (this.tok.kind !== 'map') this.fail(this.tok, `${kw.text}() takes a map like @name, found ${this.describe(this.tok)}`);
      const map = this.advance().text;
      const keys = kw.text === 'delete' ? this.mapKeys() : [];
      if (kw.text === 'delete' && keys.length === 0) this.fail(this.tok, 'delete() takes a map element like @name[key]');
      const close = this.expect(')');
      this.endStatement();
      const s = span(kw.span, close.span);
      return kw.text === 'delete' ? { kind: 'delete', map, keys, span: s } : { kind: kw.text as 'print' | 'clear', map, span: s };
    }
    this.fail(t, `expected a statement, found ${this.describe(t)}`, 'statements are $x = expr; @map[keys] = count(); emit name { f: expr }; if (...) { } print(@m);');
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

  private aggregation(): Stmt {
    const m = this.advance();
    const keys = this.mapKeys();
    this.expect('=', `after ${m.text}`);
    if (this.tok.kind !== 'ident') this.fail(this.tok, `expected an aggregation like count(), found ${this.describe(this.tok)}`, 'maps hold count() sum(e) min(e) max(e) avg(e) hist(e) lhist(e, lo, hi, step)');
    const fn = this.advance();
    this.expect('(', `after ${fn.text}`);
    const args = this.is(')') ? [] : this.exprList();
    const close = this.expect(')');
    this.endStatement();
    const call: AggCall = { fn: fn.text, args, span: span(fn.span, close.span) };
    return { kind: 'agg', map: m.text, keys, call, span: span(m.span, close.span) };
  }

  private emit(): Stmt {
    const kw = this.advance();
    const name = this.identText('an event name after emit');
    this.expect('{', `after emit ${name}`);
    const fields: { name: string; value: Expr; span: Span }[] = [];
    while (!this.is('}')) {
      const f = this.tok;
      const fname = this.identText('a field name');
      this.expect(':', `after field ${fname}`);
      const value = this.expr(0);
      fields.push({ name: fname, value, span: span(f.span, value.span) });
      if (!this.is(',')) break;
      this.advance();
    }
    const close = this.expect('}', 'to close the event');
    if (this.is(';')) this.advance();
    return { kind: 'emit', event: name, fields, span: span(kw.span, close.span) };
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
      otherwise = this.is('if') ? [this.ifStatement()] : this.block();
    }
    return { kind: 'if', cond, then, else: otherwise, span: span(kw.span, this.prevEnd()) };
  }

  private exprList(): Expr[] {
    const list = [this.expr(0)];
    while (this.is(',')) {
      this.advance();
      list.push(this.expr(0));
    }
    return list;
  }

  /** Precedence climbing. Inside a predicate a bare `/` ends the expression. */
  private expr(minPrec: number, inPredicate = false): Expr {
    let left = this.unary();
    for (;;) {
      const op = this.tok.text;
      const prec = this.tok.kind === 'punct' ? BINARY_PRECEDENCE[op] : undefined;
      if (prec === undefined || prec <= minPrec || (inPredicate && op === '/')) return left;
      this.advance();
      const right = this.expr(prec, inPredicate);
      left = { kind: 'binary', op, left, right, span: span(left.span, right.span) };
    }
  }

  private unary(): Expr {
    if (this.tok.kind === 'punct' && ['!', '-', '~'].includes(this.tok.text)) {
      const op = this.advance();
      const expr = this.unary();
      return { kind: 'unary', op: op.text, expr, span: span(op.span, expr.span) };
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.tok;
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
    if (t.kind === 'map' && t.text === '@entry') {
      this.advance();
      this.expect('(', 'after @entry');
      const expr = this.expr(0);
      const close = this.expect(')');
      return { kind: 'entry', expr, span: span(t.span, close.span) };
    }
    if (this.is('(')) {
      this.advance();
      const e = this.expr(0, false);
      this.expect(')');
      return e;
    }
    if (t.kind === 'ident') {
      this.advance();
      if (t.text === 'args' && this.is('.')) {
        this.advance();
        const f = this.tok;
        const name = this.identText('a tracepoint field after args.');
        return { kind: 'field', name, span: span(t.span, f.span) };
      }
      if (this.is('(')) {
        this.advance();
        const args = this.is(')') ? [] : this.exprList();
        const close = this.expect(')');
        return { kind: 'call', name: t.text, args, span: span(t.span, close.span) };
      }
      const argMatch = /^arg([0-9])$/.exec(t.text);
      if (argMatch) return { kind: 'arg', index: Number(argMatch[1]), span: t.span };
      return { kind: 'builtin', name: t.text, span: t.span };
    }
    this.fail(t, `expected an expression, found ${this.describe(t)}`);
  }
}

export function parse(source: Source, diags: Diagnostics): Script {
  return new Parser(source, diags).parseScript();
}
