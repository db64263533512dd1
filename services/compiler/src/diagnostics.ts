import { LIMITS } from './limits.js';
import type { Span } from './source.js';

export interface Diagnostic {
  severity: 'error' | 'warning';
  message: string;
  span: Span;
  /** What would have been right, e.g. "expected a probe point like tracepoint:sched:sched_switch". */
  hint?: string;
}

/** The one sink every pass reports to; passes keep going after errors where they can. */
export class Diagnostics {
  readonly items: Diagnostic[] = [];
  private errors = 0;
  error(span: Span, message: string, hint?: string): void {
    // A later pass that finds the same expression wrong (printf's %s of a ?: whose sides differ)
    // reports the first error's consequence, not a second cause.
    if (this.items.some((d) => d.severity === 'error' && d.span.source === span.source && d.span.start === span.start && d.span.end === span.end)) return;
    this.errors++;
    if (this.errors > LIMITS.maxErrors + 1) return;
    if (this.errors === LIMITS.maxErrors + 1) {
      this.items.push({ severity: 'error', message: `more than ${LIMITS.maxErrors} errors; the rest are not shown`, span });
      return;
    }
    this.items.push({ severity: 'error', message, span, ...(hint ? { hint } : {}) });
  }
  warning(span: Span, message: string, hint?: string): void {
    this.items.push({ severity: 'warning', message, span, ...(hint ? { hint } : {}) });
  }
  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }
}

const QUOTE_CHARS = 160;
const QUOTE_BEFORE = 60;

/**
 * The part of a source line a diagnostic quotes, and the column within it: a long line
 * (a whole script on one line) is cut to a window around the column, so 100 errors on a
 * megabyte-long line stay a few kilobytes.
 */
function quote(line: string, col: number): { text: string; at: number } {
  if (line.length <= QUOTE_CHARS) return { text: line, at: col };
  const from = Math.max(0, col - 1 - QUOTE_BEFORE);
  const to = Math.min(line.length, from + QUOTE_CHARS);
  const lead = from > 0 ? '...' : '';
  return { text: `${lead}${line.slice(from, to)}${to < line.length ? '...' : ''}`, at: col - from + lead.length };
}

/** `file:line:col: error: message`, the source line, a caret under the span, and the hint. */
export function formatDiagnostic(d: Diagnostic): string {
  const { line, col } = d.span.source.position(d.span.start);
  const { text, at } = quote(d.span.source.lineText(line), col);
  const width = Math.max(1, Math.min(d.span.end - d.span.start, text.length - at + 1));
  const lines = [
    `${d.span.source.file}:${line}:${col}: ${d.severity}: ${d.message}`,
    `  ${text}`,
    `  ${' '.repeat(at - 1)}^${'~'.repeat(width - 1)}`,
  ];
  if (d.hint) lines.push(`  ${d.hint}`);
  return lines.join('\n');
}

/** Thrown by the compiler driver when any pass reported an error. */
export class CompileError extends Error {
  readonly code = 'TAPFLEET_COMPILE';
  constructor(readonly diagnostics: Diagnostic[], options?: ErrorOptions) {
    super(diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n'), options);
    this.name = 'CompileError';
  }
}
