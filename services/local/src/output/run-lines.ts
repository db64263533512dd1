/**
 * The lines `tapfleet run` prints about the run itself, as documented in docs/language.md
 * ("Output of tapfleet run"): scripts and benches key on them, so their shape is stable.
 */

export interface LiveStatus {
  /** Probes attached: kernel attach points that attached, plus begin/end/interval probes. */
  probes: number;
  /** Kernel attach points that failed (each reported on stderr before this line). */
  failed: number;
  attachNs: bigint;
}

const ms = (ns: bigint) => Math.round(Number(ns) / 1e5) / 10;
const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** Text mode, on stderr: `Attached 3 probes in 4.2 ms` (bpftrace says "Attaching 3 probes..." before it attaches). */
export function liveText(l: LiveStatus): string {
  const failed = l.failed ? ` (${l.failed} failed to attach)` : '';
  return `Attached ${plural(l.probes, 'probe')} in ${ms(l.attachNs).toFixed(1)} ms${failed}`;
}

/** --json, the first object on stdout: `{"type":"live","probes":3,"failed":0,"attach_ms":4.2}`. */
export function liveJson(l: LiveStatus): string {
  return JSON.stringify({ type: 'live', probes: l.probes, failed: l.failed, attach_ms: ms(l.attachNs) });
}

/** --json for one printf() call: `{"type":"printf","data":"..."}`, data as bpftrace's -f json gives it (the text, newline included). */
export function printfJson(text: Buffer): string {
  return JSON.stringify({ type: 'printf', data: text.toString('utf8') });
}
