/**
 * The simulator's clock. Everything time-dependent (token expiry, throttling windows, CDC look-back,
 * MetaData stamps, webhook retry schedule) reads this clock, so tests can jump hours or days ahead.
 * It is an offset over a base clock (real time by default), so time keeps flowing after a jump.
 */
export class SimClock {
  private offsetMs = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly base: () => Date = () => new Date()) {}

  nowMs(): number {
    return this.base().getTime() + this.offsetMs;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  advance(ms: number): void {
    this.offsetMs += ms;
    this.notify();
  }

  set(at: Date): void {
    this.offsetMs = at.getTime() - this.base().getTime();
    this.notify();
  }

  /** The shift from the base clock; saved in a state file so the simulated time survives a restart. */
  offset(): number {
    return this.offsetMs;
  }

  restoreOffset(ms: number): void {
    this.offsetMs = ms;
    this.notify();
  }

  /** Called after every jump: timers that wait on simulated time (webhook retries) re-check themselves. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

/**
 * QBO stamps times with a UTC offset (samples show the US Pacific offset, e.g. "-07:00", whatever the company's
 * country). We use a fixed -07:00 and ignore daylight saving: clients must parse the offset, never assume Z.
 */
export const QBO_UTC_OFFSET_MINUTES = -7 * 60;

function shifted(ms: number): string {
  return new Date(ms + QBO_UTC_OFFSET_MINUTES * 60_000).toISOString();
}

function offsetSuffix(): string {
  const sign = QBO_UTC_OFFSET_MINUTES < 0 ? '-' : '+';
  const abs = Math.abs(QBO_UTC_OFFSET_MINUTES);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** MetaData.CreateTime / LastUpdatedTime: second precision with offset, e.g. "2015-07-24T10:33:39-07:00". */
export function formatMetaTime(ms: number): string {
  return `${shifted(ms).slice(0, 19)}${offsetSuffix()}`;
}

/** The `time` envelope: millisecond precision with offset, e.g. "2015-07-29T09:29:56.229-07:00". */
export function formatEnvelopeTime(ms: number): string {
  return `${shifted(ms).slice(0, 23)}${offsetSuffix()}`;
}

/** A transaction date (YYYY-MM-DD) as the company sees "today". */
export function formatTxnDate(ms: number): string {
  return shifted(ms).slice(0, 10);
}
