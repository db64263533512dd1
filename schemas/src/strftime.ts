/**
 * strftime(3) formats as bpftrace's time() and strftime() take them: the compiler checks a
 * format once (strftimeProblem); the host that took a time prints it (formatStrftime: `tapfleet
 * run`, and an agent before it publishes). The C locale's
 * conversions, plus bpftrace's `%f` (microseconds, 6 digits). The time is local, as glibc's
 * localtime() gives it (the TZ the process runs with).
 */

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Conversions written as other conversions (C locale). */
const COMPOSED: Record<string, string> = { c: '%a %b %e %H:%M:%S %Y', D: '%m/%d/%y', F: '%Y-%m-%d', r: '%I:%M:%S %p', R: '%H:%M', T: '%H:%M:%S', x: '%m/%d/%y', X: '%H:%M:%S', h: '%b' };
const SIMPLE = 'aAbBCdeGgHIjklmMnpPsStuUVwWyYzZf%';
export const STRFTIME_CONVERSIONS = `%${[...SIMPLE.replace('%', ''), ...Object.keys(COMPOSED)].sort().join(' %')} %%`;

/** The longest format a bundle carries (the manifest's and the published layout's bound). */
export const STRFTIME_FORMAT_MAX = 256;

/** What is wrong with a format, if anything: too long, or the first conversion this renderer does not know (offsets in the format's characters). */
export function strftimeProblem(format: string): { at: number; length: number; message: string; hint: string } | undefined {
  if (format.length > STRFTIME_FORMAT_MAX)
    return { at: 0, length: format.length, message: `a strftime format is at most ${STRFTIME_FORMAT_MAX} characters; this one has ${format.length}`, hint: 'print the rest with printf(), or split the time into two time()/strftime() calls' };
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%') continue;
    const c = format[i + 1];
    if (c === undefined) return { at: i, length: 1, message: 'a strftime format cannot end with a lone %', hint: 'write %% for a percent sign' };
    if (!SIMPLE.includes(c) && !(c in COMPOSED))
      return { at: i, length: 2, message: `%${c} is not a strftime conversion tapfleet prints`, hint: `conversions: ${STRFTIME_CONVERSIONS}` };
    i++;
  }
  return undefined;
}

const pad = (n: number, width: number, fill = '0') => String(n).padStart(width, fill);

/** ISO 8601 week-based year and week of `d` (local time), for %G %g %V. */
function isoWeek(d: Date): { year: number; week: number } {
  const day = new Date(d.getFullYear(), d.getMonth(), d.getDate());
  const wd = (day.getDay() + 6) % 7; // Monday 0
  day.setDate(day.getDate() - wd + 3); // the Thursday of this week decides the year
  const firstThursday = new Date(day.getFullYear(), 0, 4);
  const week = 1 + Math.round(((day.getTime() - firstThursday.getTime()) / 86_400_000 - 3 + ((firstThursday.getDay() + 6) % 7)) / 7);
  return { year: day.getFullYear(), week };
}

/** Days since 1 January of `d`'s year (local time, 0-based). */
const yearDay = (d: Date): number => Math.round((new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() - new Date(d.getFullYear(), 0, 1).getTime()) / 86_400_000);

let zoneFormat: Intl.DateTimeFormat | undefined;
function zoneName(d: Date): string {
  const part = (zoneFormat ??= new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })).formatToParts(d).find((p) => p.type === 'timeZoneName');
  return part?.value ?? '';
}

/** `format` applied to the wall time `epochNs` (ns since 1970, UTC), in local time. */
export function formatStrftime(format: string, epochNs: bigint): string {
  const ms = Number(epochNs / 1_000_000n);
  const micros = Number(((epochNs % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n / 1000n);
  const d = new Date(ms);
  const one = (c: string): string => {
    const composed = COMPOSED[c];
    if (composed) return formatStrftime(composed, epochNs);
    const h = d.getHours();
    switch (c) {
      case 'a': return DAYS[d.getDay()]!.slice(0, 3);
      case 'A': return DAYS[d.getDay()]!;
      case 'b': return MONTHS[d.getMonth()]!.slice(0, 3);
      case 'B': return MONTHS[d.getMonth()]!;
      case 'C': return pad(Math.floor(d.getFullYear() / 100), 2);
      case 'd': return pad(d.getDate(), 2);
      case 'e': return pad(d.getDate(), 2, ' ');
      case 'G': return String(isoWeek(d).year);
      case 'g': return pad(isoWeek(d).year % 100, 2);
      case 'H': return pad(h, 2);
      case 'I': return pad(h % 12 || 12, 2);
      case 'j': return pad(1 + yearDay(d), 3);
      case 'k': return pad(h, 2, ' ');
      case 'l': return pad(h % 12 || 12, 2, ' ');
      case 'm': return pad(d.getMonth() + 1, 2);
      case 'M': return pad(d.getMinutes(), 2);
      case 'n': return '\n';
      case 'p': return h < 12 ? 'AM' : 'PM';
      case 'P': return h < 12 ? 'am' : 'pm';
      case 's': return String(Math.floor(ms / 1000));
      case 'S': return pad(d.getSeconds(), 2);
      case 't': return '\t';
      case 'u': return String(d.getDay() || 7);
      case 'U': return pad(Math.floor((yearDay(d) + 7 - d.getDay()) / 7), 2);
      case 'V': return pad(isoWeek(d).week, 2);
      case 'w': return String(d.getDay());
      case 'W': return pad(Math.floor((yearDay(d) + 7 - ((d.getDay() + 6) % 7)) / 7), 2);
      case 'y': return pad(d.getFullYear() % 100, 2);
      case 'Y': return String(d.getFullYear());
      case 'z': {
        const off = -d.getTimezoneOffset();
        return `${off < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(off) / 60), 2)}${pad(Math.abs(off) % 60, 2)}`;
      }
      case 'Z': return zoneName(d);
      case 'f': return pad(micros, 6);
      default: return '%';
    }
  };
  let out = '';
  for (let i = 0; i < format.length; i++) {
    if (format[i] === '%' && i + 1 < format.length) out += one(format[++i]!);
    else out += format[i];
  }
  return out;
}
