/**
 * The simulator's clock: a base clock (real or injected) plus an offset that tests move with
 * `/__sim/clock`. It keeps ticking in real time after a set/advance, so timers stay meaningful.
 */

export type NowFn = () => Date;

export class SimClock {
  private offsetMs = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly base: NowFn = () => new Date()) {}

  now(): Date {
    return new Date(this.base().getTime() + this.offsetMs);
  }

  nowMs(): number {
    return this.now().getTime();
  }

  /** Moves the clock forward (or back, with a negative value). */
  advance(ms: number): Date {
    this.offsetMs += ms;
    this.notify();
    return this.now();
  }

  /** Jumps to an absolute instant. */
  set(at: Date): Date {
    this.offsetMs = at.getTime() - this.base().getTime();
    this.notify();
    return this.now();
  }

  /** The shift from the base clock; saved in a state file so the simulated time survives a restart. */
  offset(): number {
    return this.offsetMs;
  }

  restoreOffset(ms: number): void {
    this.offsetMs = ms;
    this.notify();
  }

  /** Called after every jump so time-driven work (webhook retries) can re-evaluate. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

/** ServiceM8's "unset date" value. */
export const ZERO_DATE = '0000-00-00 00:00:00';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** "YYYY-MM-DD HH:MM:SS" of an instant in an IANA time zone (ServiceM8's timestamp format). */
export function formatSm8DateTime(at: Date, timeZone: string): string {
  const parts: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(at)) parts[part.type] = part.value;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

/** Throws a RangeError for an unknown IANA time zone name. */
export function assertTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

/** "YYYY-MM-DD HH:MM:SS" in UTC, the format of webhook `entry[].time`. */
export function formatUtcDateTime(at: Date): string {
  return at.toISOString().slice(0, 19).replace('T', ' ');
}
