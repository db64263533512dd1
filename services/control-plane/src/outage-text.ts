import type { Outage } from '@tapfleet/schemas';

/** `12:00:01.234` (UTC): outages are short; the date is in the report's context. */
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23);

/** An outage as a loss reason: `runner down 12:00:01.234-12:00:01.890 (SIGKILL, restarted)`. */
export function outageText(o: Outage): string {
  const span = o.toMs === undefined ? `since ${clock(o.fromMs)}` : `${clock(o.fromMs)}-${clock(o.toMs)}`;
  const resolution = o.resolution ?? 'still down';
  // "agent restarted, restarted" says one thing twice.
  const why = o.cause.endsWith(resolution) ? o.cause : `${o.cause}, ${resolution}`;
  return `${o.kind} down ${span} (${why})`;
}
