import type { EventLayout, MapKind } from '@tapfleet/schemas';
import type { Expr, Stmt } from '../ast.js';
import { Diagnostics } from '../diagnostics.js';
import { literalOffsets, type Span } from '../source.js';
import { LIMITS } from '../limits.js';
import { strftimeProblem } from '@tapfleet/schemas';
import { INT, str, typeName, UINT, type Type, type ValueType } from '../types.js';
import { functionName, pointName, type ResolvedProbe, type Target } from './resolve-points.js';
import { assignValue, checkKeys, hasForwardReads, readValue, unassignedReads } from './value-maps.js';
import { isStackName, MAX_STACK_MAPS, stackType } from './stack-keys.js';
import { isZeroValue, USER_SIDE_PROGRAM_STATEMENTS, USER_SIDE_STATEMENTS, userSideRefusal } from './user-side-statements.js';

export interface MapInfo {
  name: string;
  kind: MapKind;
  keyTypes: Type[];
  /** A value map's value (kind 'value'). */
  /** A value map's value: an integer or a string (a stack is a key only). */
  valueType?: ValueType;
  lhist?: { lo: number; hi: number; step: number };
  span: Span;
}

/** A record the script sends (an emit, a printf() call site, exit()), as typing found it; passes/lower-events.ts lays it out. */
export interface EventInfo {
  /** Its fields in the order the script gives them. */
  fields: { name: string; type: Type }[];
  fieldTypes: Map<string, Type>;
  /** The probe points (as written) whose bodies send it. */
  probes: string[];
  /** Set for a record a call sends (printf(), exit()) rather than an emit. */
  call?: EventLayout['call'];
}

export interface ProbeAnalysis {
  locals: Map<string, Type>;
  /** @entry expressions, in slot order. */
  entries: Expr[];
  usesLatency: boolean;
}

export interface Analysis {
  types: WeakMap<Expr, Type>;
  events: Map<string, EventInfo>;
  maps: Map<string, MapInfo>;
  probes: Map<number, ProbeAnalysis>;
  /** Every kstack/ustack type used, one per (kind, depth): each needs a stack-trace map. */
  stacks: Map<string, Extract<Type, { kind: 'stack' }>>;
}

const BUILTINS: Record<string, Type> = {
  pid: UINT, tid: UINT, uid: UINT, cpu: UINT, nsecs: UINT, elapsed: UINT, cgroup: UINT, walltime: UINT, comm: str(16), retval: INT, latency: UINT,
};
type RenderSite = 'record' | 'key';
/** Calls whose integer user space prints as a name or a time (typed by renderedCall). */
const RENDERED_CALLS: Record<string, { arity: number; usage: string; example: string }> = {
  ksym: { arity: 1, usage: 'one kernel address: ksym(addr)', example: 'e.g. @[ksym(reg("ip"))] = count(); or printf("%s\\n", ksym(addr))' },
  usym: { arity: 1, usage: 'one user address: usym(addr)', example: 'e.g. @[usym(reg("ip"))] = count(); or printf("%s\\n", usym(addr))' },
  strftime: { arity: 2, usage: 'a format and a time in ns since boot: strftime("%H:%M:%S", nsecs)', example: 'e.g. printf("%s\\n", strftime("%H:%M:%S", nsecs))' },
};
/** bpftrace's x86_64 register names and the uapi struct pt_regs members they read. */
export const PT_REGS: Record<string, string> = {
  r15: 'r15', r14: 'r14', r13: 'r13', r12: 'r12', bp: 'rbp', bx: 'rbx', r11: 'r11', r10: 'r10', r9: 'r9', r8: 'r8', ax: 'rax', cx: 'rcx', dx: 'rdx', si: 'rsi', di: 'rdi', orig_ax: 'orig_rax', ip: 'rip', cs: 'cs', flags: 'eflags', sp: 'rsp', ss: 'ss',
};
/** Probes whose context is the saved registers (a perf event's begins with them). */
const REG_TARGETS = new Set<Target['kind']>(['uprobe', 'uretprobe', 'usdt', 'profile']);
const MEMORY_READS: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8, s8: 1, s16: 2, s32: 4, s64: 8 };
const AGGREGATIONS: Record<string, number> = { count: 0, sum: 1, min: 1, max: 1, avg: 1, stats: 1, hist: 1, lhist: 4 };

/** print(@m, N): the most entries N may ask for (what a terminal can show, and the manifest bounds). */
const PRINT_TOP_MAX = 100_000;

const lineCol = (sp: Span) => {
  const p = sp.source.position(sp.start);
  return `${p.line}:${p.col}`;
};

/** Every `@m[...]` read in an expression, outermost first. */
function mapReadsIn(e: Expr): Extract<Expr, { kind: 'mapread' }>[] {
  switch (e.kind) {
    case 'mapread': return [e, ...e.keys.flatMap(mapReadsIn)];
    case 'unary': return mapReadsIn(e.expr);
    case 'binary': return [...mapReadsIn(e.left), ...mapReadsIn(e.right)];
    case 'ternary': return [...mapReadsIn(e.cond), ...mapReadsIn(e.then), ...mapReadsIn(e.else)];
    case 'cast': return mapReadsIn(e.expr);
    case 'call': return e.args.flatMap(mapReadsIn);
    case 'entry': return mapReadsIn(e.expr);
    default: return [];
  }
}

export const isUserSide = (t: Target) => t.kind === 'interval' || t.kind === 'begin' || t.kind === 'end';

/** Pass: type every expression, check each builtin is valid where it is used, collect the records and maps the script uses (lower.ts lays them out). */
export function typecheck(probes: ResolvedProbe[], diags: Diagnostics): Analysis {
  // A value map read before its first assignment (sched_switch above sched_wakeup) takes its
  // type from a silent first pass; its diagnostics are those of the real pass.
  const seed = hasForwardReads(probes) ? typecheckOnce(probes, new Diagnostics()).maps : undefined;
  return typecheckOnce(probes, diags, seed);
}

function typecheckOnce(probes: ResolvedProbe[], diags: Diagnostics, seed?: Map<string, MapInfo>): Analysis {
  const a: Analysis = { types: new WeakMap(), events: new Map(), maps: new Map(), probes: new Map(), stacks: new Map() };
  const mapReads: { name: string; span: Span }[] = [];
  const eventFields = new Map<string, { fields: { name: string; type: Type }[]; span: Span; probes: Set<string> }>();
  const deferredRefs: { name: string; span: Span; keyTypes?: Type[] }[] = [];
  /** Maps written where writes are refused (begin/end/interval), already reported. */
  const refusedWrites = new Set<string>();

  for (const probe of probes) {
    const info: ProbeAnalysis = { locals: new Map(), entries: [], usesLatency: false };
    a.probes.set(probe.index, info);
    if (probe.unresolved) continue; // its alias was reported; every local it binds would be reported again
    const targets = probe.points.map((p) => p.target);
    const userSide = targets.length > 0 && targets.every(isUserSide);
    // A user-side probe's map writes compile to a BPF program run at each firing (lower-programs.ts).
    let inUserSideIf = false;
    /** The first print() or clear() of a user-side probe: a map write after it would run before it. */
    let mapActionSeen: string | undefined;
    /** Maps a user-side probe clear()s, by name: a printf() after the clear reading the map would see it before (its program runs first). */
    const clearedHere = new Map<string, Span>();
    const printfAfterClear = (s: Extract<Stmt, { kind: 'printf' }>) => {
      for (const e of s.args) {
        const read = mapReadsIn(e).find((m) => clearedHere.has(m.map));
        if (read) diags.error(read.span, `in ${targets[0]!.kind === 'begin' ? 'a' : 'an'} ${targets[0]!.kind} probe, printf() runs in its BPF program, before clear(${read.map}) at ${lineCol(clearedHere.get(read.map)!)}: this would print ${read.map} as it was before the clear`, `print ${read.map} before clearing it; after clear(${read.map}) it reads 0 (or "")`);
      }
    };
    const hasEntry = probe.points.length > 0 && probe.points.every((p) => p.entries);
    // Inside @entry() (and a pair's start key) expressions are evaluated at the start points.
    const entryTargets = probe.points.flatMap((p) => p.entries ?? []);
    /** While a pair key is typed: the one point (or its start points) it is evaluated at. */
    let keyTargets: Target[] | undefined;
    const at = (inEntry: boolean) => keyTargets ?? (inEntry ? entryTargets : targets);
    let statements = 0;

    /** Where the expression being typed sits, when that is where a ksym()/usym()/strftime() may (a record's value, a map key). */
    let renderSite: RenderSite | undefined;
    const expr = (e: Expr, inEntry = false): Type => {
      const site = renderSite;
      renderSite = undefined;
      const t = typeOf(e, inEntry, site);
      a.types.set(e, t);
      return t;
    };
    /** Types `e` sitting where a value printed in user space may (`site`). */
    const sited = (e: Expr, site: RenderSite, inEntry = false): Type => {
      renderSite = site;
      return expr(e, inEntry);
    };
    /** Types `e` as part of the expression it sits in, keeping whether that is evaluated at entry. */
    const needInt = (e: Expr, what: string, inEntry = false) => {
      const t = expr(e, inEntry);
      if (t.kind !== 'int') diags.error(e.span, `${what} must be an integer, not ${typeName(t)}`);
    };
    /** bpftrace's `probe`: the point's full name, a string as long as the longest of the probe's points. */
    const probeName = (e: Expr): Type => {
      const names = targets.map(pointName);
      const missing = targets.find((_, i) => names[i] === undefined);
      if (missing) diags.error(e.span, 'probe names a profile point only as profile:hz:N', 'write the name as a string literal in this probe, e.g. printf("profile:ms:10\\n")');
      return str(Math.min(LIMITS.maxStringBytes, Math.max(1, ...names.map((n) => Buffer.byteLength(n ?? '') + 1))));
    };
    /** bpftrace's `func`: the function of a uprobe or uretprobe, a string as long as the longest of the probe's. */
    const funcName = (e: Expr): Type => {
      const names = targets.map(functionName);
      const other = targets.find((_, i) => names[i] === undefined);
      if (other) diags.error(e.span, `func is the function a uprobe or uretprobe is on; this probe has a ${other.kind} point`, 'in other probes write the name as a string literal, or use probe (the point\'s full name)');
      return str(Math.min(LIMITS.maxStringBytes, Math.max(1, ...names.map((n) => Buffer.byteLength(n ?? '') + 1))));
    };
    const typeOf = (e: Expr, inEntry: boolean, site: RenderSite | undefined): Type => {
      switch (e.kind) {
        case 'int': return INT;
        case 'string': {
          const bytes = Buffer.byteLength(e.value);
          if (bytes >= LIMITS.maxStringBytes) diags.error(e.span, `a string literal holds at most ${LIMITS.maxStringBytes - 1} bytes`);
          return str(Math.min(bytes + 1, LIMITS.maxStringBytes));
        }
        case 'param': return INT; // replaced by its value right after parsing (positional-params.ts)
        case 'var': {
          const t = info.locals.get(e.name);
          if (!t) diags.error(e.span, `$${e.name} is used before it is assigned`, `assign it earlier in this probe ($${e.name} = ...;): a $local lives for one firing of one probe; to carry a value between probes use a map, e.g. @${e.name}[tid] = ...`);
          return t ?? INT;
        }
        case 'builtin': {
          if (isStackName(e.name)) return stack(e);
          if (e.name === 'probe') return probeName(e);
          if (e.name === 'func') return funcName(e);
          const t = BUILTINS[e.name];
          if (!t) {
            // bpftrace reads TASK_RUNNING, AF_INET, ... from the C headers a script #includes (and enums from BTF).
            const constant = /^[A-Z][A-Z0-9_]*$/.test(e.name);
            diags.error(e.span, `unknown identifier '${e.name}'`, constant ? `bpftrace takes constants like ${e.name} from the C headers a script #includes; tapfleet reads no headers (#include lines are comments here): write its value as a number` : `builtins are ${Object.keys(BUILTINS).join(' ')} probe func kstack ustack arg0..arg9 args.FIELD`);
            return INT;
          }
          if (e.name === 'retval' && !targets.every((x) => x.kind === 'uretprobe'))
            diags.error(e.span, 'retval exists only in uretprobe probes');
          if (e.name === 'latency') {
            if (!hasEntry) diags.error(e.span, 'latency needs a uretprobe or a paired start/end alias', 'latency is the time since the matching function entry');
            else if (inEntry) diags.error(e.span, 'latency cannot be captured at entry');
            info.usesLatency = true;
          }
          return t;
        }
        case 'arg': {
          for (const t of at(inEntry)) {
            if (t.kind === 'tracepoint') diags.error(e.span, `tracepoints have no arg${e.index}`, 'read tracepoint fields as args.NAME');
            else if (t.kind === 'uretprobe' && !inEntry) diags.error(e.span, `arg${e.index} is gone by the time a function returns`, `capture it at entry: @entry(arg${e.index})`);
            else if (t.kind === 'usdt') {
              const n = t.note.args.trim() === '' ? 0 : t.note.args.trim().split(/\s+/).length;
              if (e.index >= n) diags.error(e.span, `USDT probe ${t.provider}:${t.name} has ${n} argument(s), so no arg${e.index}`);
            } else if (isUserSide(t) || t.kind === 'profile') diags.error(e.span, `${t.kind} probes have no arguments`);
            else if (e.index > 5 && (t.kind === 'uprobe' || t.kind === 'uretprobe')) diags.error(e.span, `only arg0..arg5 are passed in registers`);
          }
          // A directly read USDT site may carry an argument no BPF read can reach (a RIP-relative global).
          for (const t of at(inEntry)) {
            const a = t.kind === 'usdt' ? t.direct?.[e.index] : undefined;
            if (t.kind === 'usdt' && a?.loc.kind === 'unreadable')
              diags.error(e.span, `arg${e.index} of USDT probe ${t.provider}:${t.name} is '${a.loc.text}', which tapfleet cannot read`, 'it is a global addressed relative to the instruction pointer (or an index register); use the probe\'s other arguments');
          }
          return INT;
        }
        case 'field': {
          let t: Type | undefined;
          for (const tg of at(inEntry)) {
            if (tg.kind !== 'tracepoint') {
              diags.error(e.span, `args.${e.name} exists only in tracepoint probes`);
              return INT;
            }
            const f = tg.format.fields.find((x) => x.name === e.name);
            if (!f) {
              const names = tg.format.fields.filter((x) => !x.name.startsWith('common_')).map((x) => x.name).join(', ');
              diags.error(e.span, `tracepoint ${tg.category}:${tg.event} has no field '${e.name}'`, `its fields are: ${names}`);
              return INT;
            }
            if (f.size === 0 && !f.decl.startsWith('__data_loc')) {
              diags.error(e.span, `field ${e.name} (${f.decl}) is a variable-length array with no fixed place to read`);
              return INT;
            }
            // A char array's length may be spelled as a name: from 5.17 to 6.12 TASK_COMM_LEN is an enum,
            // so tracefs prints `char comm[TASK_COMM_LEN]` (its size says 16).
            const ft: Type = f.decl.startsWith('__data_loc') ? str(LIMITS.defaultStringBytes) : /\[\w+\]\s*$/.test(f.decl) && /\bchar\b/.test(f.decl) ? str(f.size) : f.size <= 8 ? { kind: 'int', signed: f.signed } : INT;
            if (f.size > 8 && ft.kind === 'int') diags.error(e.span, `field ${e.name} (${f.decl}) is not an integer or a string`);
            t = ft;
          }
          return t ?? INT;
        }
        case 'mapread': {
          const keyTypes = e.keys.map((k) => sited(k, 'key', inEntry));
          mapReads.push({ name: e.map, span: e.span });
          return readValue(a.maps.get(e.map) ?? seed?.get(e.map), e, keyTypes, diags);
        }
        case 'entry':
          if (!hasEntry) diags.error(e.span, '@entry() needs a uretprobe or a paired start/end alias', 'in a plain probe, just use the expression');
          else if (inEntry) diags.error(e.span, '@entry() cannot be nested');
          e.slot = info.entries.length;
          info.entries.push(e);
          return expr(e.expr, true);
        case 'unary': {
          needInt(e.expr, `the operand of ${e.op}`, inEntry);
          return INT;
        }
        case 'cast':
          needInt(e.expr, `the operand of a cast to ${e.signed ? '' : 'u'}int${e.bits}`, inEntry);
          return { kind: 'int', signed: e.signed };
        case 'ternary': {
          needInt(e.cond, 'the condition of ?:', inEntry);
          const t = expr(e.then, inEntry);
          const f = expr(e.else, inEntry);
          if (t.kind === 'int' && f.kind === 'int') return { kind: 'int', signed: t.signed || f.signed };
          if (t.kind === 'str' && f.kind === 'str') return str(Math.max(t.size, f.size));
          diags.error(e.span, `both sides of ?: must be integers or both strings, not ${typeName(t)} and ${typeName(f)}`);
          return INT;
        }
        case 'binary': {
          const l = expr(e.left, inEntry);
          const r = expr(e.right, inEntry);
          if (l.kind === 'stack' || r.kind === 'stack') {
            diags.error(e.span, `a stack is not a value to compute with (${e.op})`, 'use kstack and ustack as map keys (@[kstack] = count();) or as event fields (emit e { s: kstack };)');
            return INT;
          }
          if (l.kind === 'str' || r.kind === 'str') {
            // Strings compare for equality only: bounded, NUL-terminated, byte by byte in the kernel.
            if (e.op !== '==' && e.op !== '!=') diags.error(e.span, `strings can be compared with == and != only, not ${e.op}`);
            else if (l.kind !== r.kind) diags.error(e.span, `cannot compare a string with an integer`, 'compare a string with a string, e.g. comm == "python3"');
            return INT;
          }
          // C leaves x / 0 undefined, and clang folds a constant one to anything (10 / 0 in a begin probe stored -2^63).
          if ((e.op === '/' || e.op === '%') && e.right.kind === 'int' && e.right.value === 0n) {
            const param = /^\$\d+$/.exec(e.right.span.source.text.slice(e.right.span.start, e.right.span.end))?.[0];
            diags.error(e.right.span, `division by zero: the divisor is 0${param ? ` (parameter ${param})` : ''}`, param ? `give ${param} a number other than 0` : 'divide by a value that is not 0');
          }
          return INT;
        }
        case 'call': {
          if (isStackName(e.name)) return stack(e);
          if (e.name === 'str') {
            if (e.args.length < 1 || e.args.length > 2) diags.error(e.span, 'str() takes a pointer and an optional length: str(ptr[, n])');
            if (e.args[0]) needInt(e.args[0], 'the pointer given to str()', inEntry);
            let size: number = LIMITS.defaultStringBytes;
            const n = e.args[1];
            if (n) {
              if (n.kind !== 'int') diags.error(n.span, 'the length given to str() must be a constant');
              else if (n.value < 1n || n.value > BigInt(LIMITS.maxStringBytes)) diags.error(n.span, `string length must be 1..${LIMITS.maxStringBytes}`, `as in bpftrace, N is the buffer size with its NUL: str(p, N) holds at most N - 1 characters (str(p) is str(p, ${LIMITS.defaultStringBytes}))`);
              // bpftrace's meaning: N bytes of buffer, the terminating NUL included; the default is the same 64.
              else size = Number(n.value);
            }
            return str(Math.min(size, LIMITS.maxStringBytes));
          }
          if (e.name in RENDERED_CALLS) return renderedCall(e, inEntry, site);
          if (e.name === 'reg') return register(e);
          const width = MEMORY_READS[e.name];
          if (width !== undefined) {
            if (e.args.length !== 1) diags.error(e.span, `${e.name}() takes one pointer into user memory`);
            else needInt(e.args[0]!, `the pointer given to ${e.name}()`, inEntry);
            return { kind: 'int', signed: e.name.startsWith('s') };
          }
          if (e.name in AGGREGATIONS) diags.error(e.span, `${e.name}() can only be assigned to a map, as in @m = ${e.name}(...)`, `an aggregation is a statement of its own: @name[key] = ${e.name}(...);`);
          else if (e.name === 'join') diags.error(e.span, 'join() prints a line: it is a statement, not a value', 'write it on its own, as bpftrace does: join(args->argv); or join(args->argv, ",");');
          else diags.error(e.span, `unknown function ${e.name}()`, 'functions are str(ptr[, n]) u8/u16/u32/u64/s8/s16/s32/s64(ptr) ksym(addr) usym(addr) reg("ip") strftime(fmt, ns); maps hold count() sum(e) min(e) max(e) avg(e) stats(e) hist(e) lhist(e, lo, hi, step) or a value (@m[k] = expr)');
          return INT;
        }
      }
    };

    /**
     * ksym(addr), usym(addr), strftime(FORMAT, ns): an integer in the kernel that user space
     * prints as a name or a time, so it may stand only where user space sees it as such: a
     * printf() argument, an emit field or a map key.
     */
    const renderedCall = (e: Extract<Expr, { kind: 'call' }>, inEntry: boolean, site: RenderSite | undefined): Type => {
      const want = RENDERED_CALLS[e.name]!;
      // A misused call still types as what it gives: where it stands is judged once, not again.
      const given: Type = e.name === 'strftime' ? { kind: 'int', signed: false, strftime: '' } : { kind: 'int', signed: false, sym: e.name as 'ksym' | 'usym' };
      if (e.args.length !== want.arity) {
        diags.error(e.span, `${e.name}() takes ${want.usage}`, want.example);
        return given;
      }
      let t: Type;
      if (e.name === 'strftime') {
        const [format, ns] = e.args as [Expr, Expr];
        needInt(ns, 'the time given to strftime()', inEntry);
        if (format.kind !== 'string') {
          diags.error(format.span, 'the format given to strftime() must be a string literal', want.example);
          return given;
        }
        const problem = strftimeProblem(format.value);
        if (problem) {
          const at = literalOffsets(format.span);
          diags.error({ source: format.span.source, start: at(problem.at), end: at(problem.at + problem.length - 1) + 1 }, problem.message, problem.hint);
        }
        t = { kind: 'int', signed: false, strftime: format.value };
      } else {
        needInt(e.args[0]!, `the address given to ${e.name}()`, inEntry);
        t = { kind: 'int', signed: false, sym: e.name as 'ksym' | 'usym' };
      }
      if (site) return t;
      const where = 'a printf() argument, an event field or a map key';
      diags.error(e.span, `${e.name}() is printed in user space: it can be ${where} only`, want.example);
      return UINT;
    };

    /** reg("ip"): a register of the probed context, as bpftrace names them on x86_64. */
    const register = (e: Extract<Expr, { kind: 'call' }>): Type => {
      const name = e.args[0];
      if (e.args.length !== 1 || name?.kind !== 'string') {
        diags.error(e.span, 'reg() takes one register name, a string literal: reg("ip")', `registers: ${Object.keys(PT_REGS).join(' ')}`);
        return UINT;
      }
      if (!(name.value in PT_REGS)) diags.error(name.span, `no register "${name.value}" on x86_64`, `registers: ${Object.keys(PT_REGS).join(' ')}`);
      const bad = at(false).find((t) => !REG_TARGETS.has(t.kind));
      if (bad) diags.error(e.span, `reg() reads the registers of a uprobe, uretprobe, usdt or profile probe, not of ${/^[aeiou]/.test(bad.kind) ? 'an' : 'a'} ${bad.kind} probe`, bad.kind === 'tracepoint' ? 'a tracepoint has no saved registers: read its fields with args.NAME' : `${/^[aeiou]/.test(bad.kind) ? "an" : "a"} ${bad.kind} probe runs in user space, at no traced point: there are no registers to read`);
      return UINT;
    };

    /** A stack is read where the probe fires: @entry() would need a second stack map per pair. */
    const stack = (e: Extract<Expr, { kind: 'builtin' | 'call' }>): Type => {
      const t = stackType(e, diags);
      if (t.kind !== 'stack') return t;
      const id = `${t.user}:${t.depth}`;
      if (!a.stacks.has(id) && a.stacks.size === MAX_STACK_MAPS)
        diags.error(e.span, `a script keeps at most ${MAX_STACK_MAPS} kinds of stack (kstack, ustack, each depth one)`, 'each kind and depth is a stack map the kernel preallocates: use one depth for each kind');
      else a.stacks.set(id, t);
      return t;
    };

    /**
     * A value a record carries (an emit field, a printf() argument). A kstack/ustack written
     * there is copied into the record itself (bpf_get_stack), so it needs no stack map; a stack
     * from anywhere else ($s = kstack) is a stack-map key, which a record cannot carry.
     */
    const recordValue = (e: Expr): Type => {
      if ((e.kind === 'builtin' || e.kind === 'call') && isStackName(e.name)) {
        const t = stackType(e, diags);
        a.types.set(e, t);
        return t;
      }
      const t = sited(e, 'record');
      if (t.kind === 'stack') diags.error(e.span, `a record carries a stack written in place: this ${typeName(t)} comes from elsewhere`, 'write kstack or ustack(N) in the emit or printf() itself: emit e { s: kstack };');
      return t;
    };

    /** print() and clear() act on a map from user space, so only begin, end and interval may use them. */
    const userSideMapStatement = (s: Extract<Stmt, { kind: 'print' | 'clear' }>) => {
      if (!userSide) diags.error(s.span, `${s.kind}() runs in user space: use it in interval, begin or end probes`);
      if (!a.maps.has(s.map)) pendingMapRefs.push({ name: s.map, span: s.span });
    };

    const stmt = (s: Stmt) => {
      statements++;
      if (statements === LIMITS.maxStatementsPerProbe + 1)
        diags.error(s.span, `this probe has more than ${LIMITS.maxStatementsPerProbe} statements`, 'split the work across probes or aggregate in user space');
      const kind = targets[0]?.kind;
      const aKind = `${kind === 'interval' || kind === 'end' ? 'an' : 'a'} ${kind}`;
      // exit() in an if is the program's: it sends the exit record, as in a kernel probe.
      if (inUserSideIf && USER_SIDE_STATEMENTS.has(s.kind) && s.kind !== 'exit') {
        diags.error(s.span, `in ${aKind} probe, ${s.kind}() cannot be inside if: the map writes run first, as a BPF program, and ${s.kind}() after`, `move ${s.kind}() out of the if`);
        return;
      }
      // print() and clear() see the maps as the writes leave them: a write after them would run before them.
      if (userSide && USER_SIDE_PROGRAM_STATEMENTS.has(s.kind) && s.kind !== 'printf' && mapActionSeen)
        diags.error(s.span, `in ${aKind} probe, map writes run first (as a BPF program), then print() and clear(): this one comes after ${mapActionSeen}`, s.kind === 'assign' && s.keys.length === 0 && isZeroValue(s.value) ? `to reset ${s.map} after printing it, clear(${s.map}) does it` : 'move the map writes before print() and clear()');
      if (userSide && (s.kind === 'print' || s.kind === 'clear')) mapActionSeen ??= `${s.kind}(${s.map})`;
      if (userSide && s.kind === 'clear') clearedHere.set(s.map, s.span);
      if (userSide && s.kind === 'printf') printfAfterClear(s);
      if (userSide && !USER_SIDE_STATEMENTS.has(s.kind) && !USER_SIDE_PROGRAM_STATEMENTS.has(s.kind)) {
        const { message, hint } = userSideRefusal(targets[0]!.kind as 'begin' | 'end' | 'interval', s);
        diags.error(s.span, message, hint);
        // One cause, one diagnostic: the map's reads elsewhere are not "never assigned" too.
        if (s.kind === 'assign' || s.kind === 'agg') refusedWrites.add(s.map);
        return;
      }
      switch (s.kind) {
        case 'let': {
          const t = expr(s.value);
          const prev = info.locals.get(s.name);
          if (prev && prev.kind !== t.kind) diags.error(s.span, `$${s.name} was ${typeName(prev)}, cannot assign ${typeName(t)}`);
          info.locals.set(s.name, prev && prev.kind === 'str' && t.kind === 'str' ? str(Math.max(prev.size, t.size)) : t);
          break;
        }
        case 'agg': aggregation(s); break;
        case 'assign': {
          const keyTypes = s.keys.map((k) => sited(k, 'key'));
          assignValue(a.maps, s, keyTypes, expr(s.value), diags);
          break;
        }
        case 'emit': emit(s); break;
        case 'if': {
          needInt(s.cond, 'an if condition');
          const outer = inUserSideIf;
          inUserSideIf = userSide;
          s.then.forEach(stmt);
          s.else.forEach(stmt);
          inUserSideIf = outer;
          break;
        }
        case 'print':
          if (s.top && s.top.value > BigInt(PRINT_TOP_MAX)) diags.error(s.top.span, `print() shows at most the ${PRINT_TOP_MAX} largest entries, not ${s.top.value}`, 'print(@map, 0) or print(@map) prints every entry');
          if (s.div && s.div.value < 1n) diags.error(s.div.span, 'print()\'s divisor must be at least 1');
          if (s.div && s.div.value > BigInt(Number.MAX_SAFE_INTEGER)) diags.error(s.div.span, `print()'s divisor must be at most ${Number.MAX_SAFE_INTEGER}`);
          userSideMapStatement(s);
          break;
        case 'clear':
          userSideMapStatement(s);
          break;
        // Formats, argument types and records: passes/printf-check.ts, from the types given here.
        case 'printf': s.args.forEach(recordValue); break;
        case 'exit': break;
        case 'delete': {
          const keyTypes = s.keys.map((k) => sited(k, 'key'));
          pendingMapRefs.push({ name: s.map, span: s.span, keyTypes });
          break;
        }
      }
    };

    const aggregation = (s: Extract<Stmt, { kind: 'agg' }>) => {
      const arity = AGGREGATIONS[s.call.fn];
      if (arity === undefined) {
        diags.error(s.call.span, `unknown aggregation ${s.call.fn}()`, 'maps hold count() sum(e) min(e) max(e) avg(e) stats(e) hist(e) lhist(e, lo, hi, step)');
        return;
      }
      if (s.call.args.length !== arity) diags.error(s.call.span, `${s.call.fn}() takes ${arity} argument(s), got ${s.call.args.length}`);
      if (s.call.args[0]) needInt(s.call.args[0], `the value of ${s.call.fn}()`);
      let lhist: MapInfo['lhist'];
      if (s.call.fn === 'lhist' && s.call.args.length === 4) {
        const [lo, hi, step] = s.call.args.slice(1).map((x) => (x.kind === 'int' ? Number(x.value) : (diags.error(x.span, 'lhist bounds must be constants'), NaN)));
        if (lo !== undefined && hi !== undefined && step !== undefined && !Number.isNaN(lo + hi + step)) {
          if (step <= 0 || hi <= lo) diags.error(s.call.span, 'lhist needs lo < hi and step > 0');
          else if ((hi - lo) / step > LIMITS.maxLhistBuckets) diags.error(s.call.span, `lhist would have more than ${LIMITS.maxLhistBuckets} buckets`);
          else lhist = { lo, hi, step };
        }
      }
      const keyTypes = s.keys.map((k) => sited(k, 'key'));
      const prev = a.maps.get(s.map);
      if (prev) {
        if (prev.kind === 'value') {
          const { line, col } = prev.span.source.position(prev.span.start);
          diags.error(s.span, `${s.map} holds values (assigned at ${line}:${col}), so it cannot also hold ${s.call.fn}()`, `a value map is shared state read in probes; count in another map, e.g. ${s.map}_${s.call.fn}${s.keys.length ? '[...]' : ''} = ${s.call.fn}(...)`);
          return;
        }
        if (prev.kind !== s.call.fn) diags.error(s.span, `${s.map} holds ${prev.kind}(), it cannot also hold ${s.call.fn}()`);
        if (prev.keyTypes.length !== keyTypes.length || prev.keyTypes.some((t, i) => t.kind !== keyTypes[i]!.kind))
          diags.error(s.span, `${s.map} is keyed by [${prev.keyTypes.map(typeName).join(', ')}] elsewhere`);
        return;
      }
      a.maps.set(s.map, { name: s.map, kind: s.call.fn as MapKind, keyTypes, ...(lhist ? { lhist } : {}), span: s.span });
    };

    /**
     * A pair key is computed before anything else runs at its point: it may read the point's
     * own data (fields, arguments, pid...), not locals, @entry() or latency, and must be integers.
     */
    const pairKey = (key: { start: Expr[]; end: Expr[] }, end: Target, starts: Target[]) => {
      const sides: [Expr[], boolean, Target[]][] = [[key.start, true, starts], [key.end, false, [end]]];
      for (const [exprs, inEntry, side] of sides)
        for (const e of exprs) {
          const bad = keyMisuse(e);
          if (bad) {
            diags.error(bad.span, bad.message, 'a key is computed first at each side of the pair, from what that point sees: args.FIELD, argN, pid, tid, cpu, ...');
            continue;
          }
          keyTargets = side;
          const t = expr(e, inEntry);
          keyTargets = undefined;
          if (t.kind !== 'int') diags.error(e.span, `a pair key must be integers, not ${typeName(t)}`, 'key on a number that names the thing both sides see, e.g. a pid or a (dev, sector)');
        }
    };

    const emit = (s: Extract<Stmt, { kind: 'emit' }>) => {
      const fields = s.fields.map((f) => ({ name: f.name, type: recordValue(f.value) }));
      const seen = new Set<string>();
      for (const f of s.fields) {
        if (seen.has(f.name)) diags.error(f.span, `field ${f.name} given twice`);
        if (['event_id', 'cpu', 'pid', 'tid', 'ktime_ns', 'comm'].includes(f.name)) diags.error(f.span, `field name ${f.name} is reserved: every event carries it already`);
        // An event's --json line is {"type":"event","event":NAME,...fields}: a field may not take those keys.
        // `__proto__` as a key of a plain object sets the prototype: every JavaScript reader would lose the field.
        if (f.name === '__proto__') diags.error(f.span, 'field name __proto__ is reserved: JavaScript readers of the event (run --json, the Kafka mirror) cannot hold it', 'rename the field');
        if (f.name === 'type' || f.name === 'event') diags.error(f.span, `field name ${f.name} is reserved: an event's JSON line uses it (\"type\":\"event\", \"event\": its name)`, `rename the field, e.g. ${f.name}_`);
        seen.add(f.name);
      }
      const prev = eventFields.get(s.event);
      const points = probe.points.map((p) => p.span.source.text.slice(p.span.start, p.span.end));
      if (!prev) {
        eventFields.set(s.event, { fields, span: s.span, probes: new Set(points) });
        return;
      }
      points.forEach((p) => prev.probes.add(p));
      // A stack's kind and depth are part of its field's type (they fix its place in the record).
      const shape = (fs: { name: string; type: Type }[]) => JSON.stringify(fs.map((f) => [f.name, f.type.kind === 'stack' ? typeName(f.type) : f.type.kind]));
      if (shape(prev.fields) !== shape(fields))
        diags.error(s.span, `event ${s.event} is emitted elsewhere with different fields`, 'every emit of one event must give the same fields with the same types');
    };

    for (const point of probe.points) if (point.pairKey) pairKey(point.pairKey, point.target, point.entries ?? []);
    if (probe.predicate) {
      if (userSide) diags.error(probe.predicate.span, 'interval, begin and end probes take no predicate');
      else needInt(probe.predicate, 'a predicate');
    }
    const pendingMapRefs: { name: string; span: Span; keyTypes?: Type[] }[] = [];
    probe.body.forEach(stmt);
    deferredRefs.push(...pendingMapRefs);
  }
  for (const ref of deferredRefs) {
    const m = a.maps.get(ref.name);
    if (!m && refusedWrites.has(ref.name)) continue;
    if (!m) diags.error(ref.span, `no map ${ref.name} is assigned anywhere in this script`, `assign it in a probe first, e.g. ${ref.name}[comm] = count(); or ${ref.name}[tid] = nsecs;`);
    else if (ref.keyTypes) checkKeys(m, ref.keyTypes, ref.span, diags);
  }
  unassignedReads(mapReads.filter((r) => !refusedWrites.has(r.name)), a.maps, diags);

  for (const [name, { fields, probes }] of eventFields) a.events.set(name, { fields, fieldTypes: new Map(fields.map((f) => [f.name, f.type])), probes: [...probes] });
  return a;
}

/** The first part of a pair-key expression that cannot be a key, and why. */
function keyMisuse(e: Expr): { span: Span; message: string } | undefined {
  switch (e.kind) {
    case 'var': return { span: e.span, message: `a pair key cannot read $${e.name}: the alias's locals are assigned after the key is computed` };
    case 'entry': return { span: e.span, message: 'a pair key cannot use @entry(): the start key is already evaluated at the start' };
    case 'builtin': return e.name === 'latency' ? { span: e.span, message: 'a pair key cannot use latency: latency is what the key finds' } : undefined;
    case 'string': return { span: e.span, message: 'a pair key must be integers, not a string' };
    case 'mapread': return { span: e.span, message: `a pair key cannot read ${e.map}: the key is computed before the probe's statements run` };
    case 'unary': return keyMisuse(e.expr);
    case 'binary': return keyMisuse(e.left) ?? keyMisuse(e.right);
    case 'ternary': return keyMisuse(e.cond) ?? keyMisuse(e.then) ?? keyMisuse(e.else);
    case 'cast': return keyMisuse(e.expr);
    case 'call': return e.args.map(keyMisuse).find((x) => x !== undefined);
    default: return undefined;
  }
}

