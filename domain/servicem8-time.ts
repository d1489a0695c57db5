/**
 * ServiceM8's times: "YYYY-MM-DD HH:MM:SS" wall times in the account's IANA zone, no offset written.
 * The one home of the zone arithmetic (field-merge compares edit times with it, CM-9; polls start from it,
 * TRG-2). Pure.
 */

/** The Intl options giving a zone's wall clock to the second, 24-hour. */
const WALL_CLOCK: Intl.DateTimeFormatOptions = {
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
};

/** An instant's wall clock in an IANA zone, as numbers (month 1-12). */
export function wallClockIn(
  at: Date,
  timeZone: string,
): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, ...WALL_CLOCK }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** "YYYY-MM-DD HH:MM:SS" wall time in an IANA zone → epoch ms (null when unset or unparsable). */
export function sm8TimeToEpochMs(value: string | undefined, timeZone: string | null): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value ?? '');
  if (!m || m[1] === '0000') return null;
  const wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (!timeZone) return wall;
  // The zone's offset at that instant, found by formatting a guess and correcting once (twice near DST).
  let guess = wall;
  for (let i = 0; i < 2; i += 1) guess = wall - offsetMs(guess, timeZone);
  return guess;
}

function offsetMs(at: number, timeZone: string): number {
  const w = wallClockIn(new Date(at), timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(at / 1000) * 1000;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** "YYYY-MM-DD HH:MM:SS" of an instant in an IANA zone (ServiceM8's format). */
export function sm8TimeIn(at: Date, timeZone: string): string {
  const w = wallClockIn(at, timeZone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
}
