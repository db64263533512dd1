import type { Span } from './source.js';

export type Expr =
  /** `refused`: what stands for a construct already reported (struct access, `*ptr`): no further diagnostic about its value. */
  | { kind: 'int'; value: bigint; span: Span; refused?: true }
  | { kind: 'string'; value: string; span: Span }
  | { kind: 'builtin'; name: string; span: Span }
  | { kind: 'arg'; index: number; span: Span }
  | { kind: 'field'; name: string; span: Span } // args.NAME (tracepoint field)
  | { kind: 'var'; name: string; span: Span }
  /** `$N` (index N >= 0 as written) or `$#` (index '#'): a positional parameter, replaced by its value before typing (passes/positional-params.ts). */
  | { kind: 'param'; index: number | '#'; span: Span }
  | { kind: 'call'; name: string; args: Expr[]; span: Span }
  | { kind: 'entry'; expr: Expr; span: Span; slot?: number }
  /** `@m[KEYS]` or `@m` read as a value (a value map: 0 or "" when absent, as in bpftrace). */
  | { kind: 'mapread'; map: string; keys: Expr[]; span: Span }
  | { kind: 'unary'; op: string; expr: Expr; span: Span }
  | { kind: 'binary'; op: string; left: Expr; right: Expr; span: Span }
  /** `COND ? A : B`, as in C and bpftrace: both integers or both strings. */
  | { kind: 'ternary'; cond: Expr; then: Expr; else: Expr; span: Span }
  /** bpftrace's integer casts, `(int8)retval`, `(uint64)x`: truncated to `bits`, then sign- or zero-extended. */
  | { kind: 'cast'; signed: boolean; bits: 8 | 16 | 32 | 64; expr: Expr; span: Span };

export interface AggCall {
  fn: string;
  args: Expr[];
  span: Span;
}

export type Stmt =
  | { kind: 'let'; name: string; value: Expr; span: Span }
  | { kind: 'agg'; map: string; keys: Expr[]; call: AggCall; span: Span }
  /** `@m[KEYS] = EXPR;` (also `@m++`, `@m += EXPR`, desugared to a read and a store): a value map. */
  | { kind: 'assign'; map: string; keys: Expr[]; value: Expr; span: Span }
  | { kind: 'emit'; event: string; fields: { name: string; value: Expr; span: Span }[]; span: Span }
  | { kind: 'if'; cond: Expr; then: Stmt[]; else: Stmt[]; span: Span }
  | { kind: 'clear'; map: string; span: Span }
  /** print(@m[, top[, div]]): bpftrace's optional arguments, the N largest entries and a divisor of the values. */
  | { kind: 'print'; map: string; top?: { value: bigint; span: Span }; div?: { value: bigint; span: Span }; span: Span }
  | { kind: 'delete'; map: string; keys: Expr[]; span: Span }
  /** `printf("fmt", args...)`; `record` is the name of its record layout, set by the printf-check pass. */
  | { kind: 'printf'; format: string; formatSpan: Span; args: Expr[]; span: Span; record?: string }
  | { kind: 'exit'; span: Span };

export interface ProbePoint {
  text: string;
  span: Span;
  /** Set when filling in its positional parameters failed (reported there): nothing else is said about it. */
  invalid?: true;
}

export interface Probe {
  points: ProbePoint[];
  predicate?: Expr;
  body: Stmt[];
  span: Span;
}

/** `key EXPR` or `key (EXPR, ...)` after one side of a pair: what matches a start with its end. */
export interface PairKey {
  exprs: Expr[];
  span: Span;
}

/**
 * `alias NAME[@VERSION] = END [| END...] [key K] [pairs START[, START...] [key K]] { $x = ...; }`
 * from a tapset (or the script itself).
 */
export interface Alias {
  name: string;
  /** `@N` after the name: several versions of one alias may coexist; a probe names the newest or pins one. */
  version?: number;
  /** Variants in order of preference: the first the kernel profile supports is used. */
  variants: ProbePoint[];
  /** Start points of a start/end pair (every one is attached), whose state `@entry` and `latency` read. */
  pairs?: ProbePoint[];
  /** How a start is matched with its end: a key evaluated on each side; the current thread when absent. */
  startKey?: PairKey;
  endKey?: PairKey;
  assigns: Stmt[];
  doc?: string;
  span: Span;
}

/** `hop NAME = FROM -> TO;`: the span between two events of one transaction. */
export interface HopDecl {
  name: string;
  from: { name: string; span: Span };
  to: { name: string; span: Span };
  span: Span;
}

/** `final EVENT[, EVENT...];`: events whose arrival closes a transaction. */
export interface FinalDecl {
  events: { name: string; span: Span }[];
  span: Span;
}

export interface Script {
  probes: Probe[];
  aliases: Alias[];
  hops: HopDecl[];
  finals: FinalDecl[];
}

export const span = (a: Span, b: Span): Span => ({ source: a.source, start: a.start, end: b.end });
