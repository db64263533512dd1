import type { LossReport } from '@tapfleet/schemas';

/**
 * The reasons under the loss table: each host's outages (what was not traced, and why) and
 * what its sequence gaps come to, so every missing event points at an outage, a spool drop,
 * or is called unexplained.
 */
export function lossReasonLines(report: LossReport): string[] {
  const lines: string[] = [];
  for (const r of report.rows) {
    const who = `${r.host} ${r.bootId.slice(0, 8)}`;
    for (const o of r.outages) lines.push(`${who}: ${o.text}`);
    if (r.publishedUnacked) lines.push(`${who}: ${r.publishedUnacked} event(s) in flight when an agent died, counted as published`);
    if (r.sequenceGaps) lines.push(`${who}: ${r.sequenceGaps} missing sequence(s): ${r.gapsInOutages} inside outages, ${r.spoolDrops} spool drops, ${r.gapsUnexplained} unexplained`);
  }
  return lines.length ? ['', 'reasons:', ...lines.map((l) => `  ${l}`)] : [];
}
