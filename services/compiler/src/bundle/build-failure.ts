import { Diagnostics } from '../diagnostics.js';
import type { ProgramInfo } from '../passes/lower.js';
import type { Source } from '../source.js';
import { BuildError, BuildTimeoutError } from './clang.js';

/** The program whose definition (`SEC(...)\nint NAME(`) encloses 1-based line `line` of the generated C. */
function programAtLine(c: string, programs: ProgramInfo[], line: number): ProgramInfo | undefined {
  let best: { p: ProgramInfo; line: number } | undefined;
  for (const p of programs) {
    const at = c.indexOf(`\nint ${p.name}(`);
    if (at === -1) continue;
    const start = c.slice(0, at).split('\n').length + 1;
    if (start <= line && (!best || start > best.line)) best = { p, line: start };
  }
  return best?.p;
}

/**
 * Turns what clang refused for a reason the script controls (its time allowance, the
 * 512-byte BPF stack) into diagnostics at the script; any other clang failure is a
 * compiler bug and stays a BuildError. Returns undefined for those.
 */
export function buildFailureDiagnostics(e: unknown, source: Source, c: string, programs: ProgramInfo[]): Diagnostics | undefined {
  if (!(e instanceof BuildError)) return undefined;
  const diags = new Diagnostics();
  if (e instanceof BuildTimeoutError) {
    diags.error({ source, start: 0, end: 0 }, `building this script took longer than ${e.timeoutMs} ms, so it was stopped`, 'the generated code is too large: fewer probes, statements or string comparisons (the allowance is compiler.clangTimeoutMs)');
    return diags;
  }
  const stack = /probe\.bpf\.c:(\d+):\d+: error: Looks like the BPF stack limit of (\d+) bytes is exceeded/.exec(e.stderr);
  if (stack) {
    const p = programAtLine(c, programs, Number(stack[1]));
    diags.error(p?.span ?? { source, start: 0, end: 0 }, `this probe needs more than the ${stack[2]} bytes of BPF stack`, 'its string locals, map keys and compared strings live on the stack: use fewer of them, or shorter ones with str(p, n)');
    return diags;
  }
  return undefined;
}
