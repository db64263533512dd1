import { createHash } from 'node:crypto';
import { scriptParamsProblem, type BinaryProfile, type KernelProfile, type TxnShape } from '@tapfleet/schemas';
import type { Alias } from './ast.js';
import { Diagnostics, type Diagnostic } from './diagnostics.js';
import { parse } from './parser.js';
import { Source } from './source.js';
import { resolveAliases } from './passes/resolve-aliases.js';
import { resolvePoints, type ResolvedProbe, type Target } from './passes/resolve-points.js';
import { typecheck, type Analysis } from './passes/typecheck.js';
import { emitC } from './passes/emit-c.js';
import { lower, type Lowered, type ProgramInfo } from './passes/lower.js';
import { checkLimits } from './passes/check-limits.js';
import { checkPrintf } from './passes/printf-check.js';
import { txnShape } from './passes/txn-shape.js';
import { substituteParams, substitutePointParams } from './passes/positional-params.js';
import { LIMITS } from './limits.js';
import { AliasTable } from './alias-table.js';

export interface CompileInput {
  file: string;
  text: string;
  kernel: KernelProfile;
  binaries: BinaryProfile[];
  /** Aliases from tapsets/*.tap. */
  tapsets?: Alias[];
  /** `$name` -> path, for tapset placeholders. */
  binaryPaths?: Record<string, string>;
  /** Ring-buffer size (a power of two, at least a page); tests shrink it to force drops. */
  ringBufferBytes?: number;
  /**
   * How USDT arguments are read: `direct` (default) lowers each site's spec to register and
   * memory reads attached as plain uprobes; `libbpf` uses usdt.bpf.h (per-hit spec lookup).
   * Sites whose specs cannot be lowered use libbpf either way.
   */
  usdtArgs?: 'direct' | 'libbpf';
  /** What the bundle is for: `tapfleet run` (default) or a fleet deployment, where exit() is refused. */
  purpose?: 'run' | 'deploy';
  /** Positional parameters, `$1`.. and `$#` in the script (passes/positional-params.ts): the words after the script on the command line. */
  params?: readonly string[];
}

export interface FrontEndResult {
  diagnostics: Diagnostic[];
  probes: ResolvedProbe[];
  analysis?: Analysis;
  /** Every layout of the script (records, maps, stacks, programs, attach points): what the C and the manifest are made from. */
  lowered?: Lowered;
  c?: string;
  programs?: ProgramInfo[];
  /** The declared transaction shape (`hop`/`final`), when the script has one. */
  transaction?: TxnShape;
  scriptDigest: string;
}

/** The pass pipeline up to generated C; stops after the first stage that reported errors. */
export function frontEnd(input: CompileInput): FrontEndResult {
  const diags = new Diagnostics();
  const scriptDigest = createHash('sha256').update(input.text).digest('hex');
  const source = new Source(input.file, input.text);
  if (Buffer.byteLength(input.text) > LIMITS.maxScriptBytes) {
    // Bounds every later pass's work; the offset is where the allowance runs out.
    const at = Math.min(input.text.length, LIMITS.maxScriptBytes);
    diags.error({ source, start: at, end: at }, `the script is longer than ${LIMITS.maxScriptBytes} bytes`, 'split it into several scripts');
    return { diagnostics: diags.items, probes: [], scriptDigest };
  }
  const params = input.params ?? [];
  const badParams = scriptParamsProblem(params);
  if (badParams) {
    diags.error({ source, start: 0, end: 0 }, badParams, 'positional parameters are short words: numbers, names, paths');
    return { diagnostics: diags.items, probes: [], scriptDigest };
  }
  const script = substituteParams(parse(source, diags), params, diags, input.purpose ? { purpose: input.purpose } : {});
  const aliased = resolveAliases(script, input.tapsets ?? [], input.kernel, input.binaryPaths ?? {}, diags);
  let probes = resolvePoints(aliased, { kernel: input.kernel, binaries: new Map(input.binaries.map((b) => [b.path, b])) }, diags);
  if (input.usdtArgs === 'libbpf') probes = probes.map((p) => ({ ...p, points: p.points.map((pt) => ({ ...pt, target: withoutDirect(pt.target), ...(pt.entries ? { entries: pt.entries.map(withoutDirect) } : {}) })) }));
  if (script.probes.length === 0 && !diags.hasErrors) diags.error({ source, start: 0, end: 0 }, 'the script has no probes', "add one, e.g. probe tracepoint:sched:sched_switch { @n = count(); }");
  const analysis = typecheck(probes, diags);
  checkPrintf(probes, analysis, diags, input.purpose ? { purpose: input.purpose } : {});
  const lowered = lower(probes, analysis);
  checkLimits(probes, analysis, lowered, diags);
  const transaction = txnShape(script, lowered, diags);
  if (diags.hasErrors) return { diagnostics: diags.items, probes, analysis, lowered, scriptDigest };
  const code = emitC(probes, analysis, lowered, input.ringBufferBytes);
  return { diagnostics: diags.items, probes, analysis, lowered, c: code, programs: lowered.programs, ...(transaction ? { transaction } : {}), scriptDigest };
}

function withoutDirect(t: Target): Target {
  if (t.kind !== 'usdt' || !t.direct) return t;
  const { direct: _direct, ...rest } = t;
  return rest;
}

/**
 * Parse only: the script's probe point texts, positional parameters filled in, so callers can
 * gather the profiles they need (`uprobe:$1:main` probes the binary its parameter names).
 */
export function pointTexts(file: string, text: string, tapsets: Alias[] = [], params: readonly string[] = []): string[] {
  if (Buffer.byteLength(text) > LIMITS.maxScriptBytes) return []; // frontEnd refuses it with a diagnostic
  const diags = new Diagnostics();
  const script = substitutePointParams(parse(new Source(file, text), diags), params, diags);
  const aliases = new AliasTable([...tapsets, ...script.aliases]);
  return script.probes.flatMap((p) =>
    p.points.flatMap((pt) => {
      const alias = aliases.find(pt.text);
      return alias ? [...alias.variants, ...(alias.pairs ?? [])].map((v) => v.text) : [pt.text];
    }),
  );
}
