/**
 * ServiceM8's request throttle: 180 requests per minute and 20,000 per day per application and account.
 *
 * Fixed windows on the sim clock: minutes aligned to the clock's whole minutes; days are account-local
 * calendar days (reset at midnight in the account's time zone). Every authenticated API request that is
 * let through counts; rejected (429) requests do not.
 */
import { type SimClock, formatSm8DateTime } from './clock';
import { Sm8ApiError } from './errors';
import { type SimSettings } from './options';

export const PER_MINUTE_MESSAGE = 'Number of allowed API requests per minute exceeded';
export const PER_DAY_MESSAGE = 'Number of allowed API requests per day exceeded';

interface Counter {
  window: string;
  count: number;
}

export function rateLimitError(message: string, retryAfterSeconds: number | undefined): Sm8ApiError {
  const headers: Record<string, string> = {};
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  return new Sm8ApiError(429, { errorCode: 429, message }, headers);
}

export class RateLimiter {
  private minute = new Map<string, Counter>();
  private day = new Map<string, Counter>();

  constructor(
    private readonly settings: () => SimSettings,
    private readonly clock: SimClock,
  ) {}

  /** Counts one request for the bucket, or throws the documented 429. */
  consume(bucket: string): void {
    const settings = this.settings();
    const now = this.clock.now();
    const minuteWindow = String(Math.floor(now.getTime() / 60_000));
    const dayWindow = formatSm8DateTime(now, settings.timeZone).slice(0, 10);
    const perDay = this.counter(this.day, bucket, dayWindow);
    const perMinute = this.counter(this.minute, bucket, minuteWindow);
    if (perDay.count >= settings.rateLimitPerDay) {
      throw rateLimitError(PER_DAY_MESSAGE, settings.sendRetryAfter ? this.secondsToNextDay(now) : undefined);
    }
    if (perMinute.count >= settings.rateLimitPerMinute) {
      const retryAfter = Math.max(1, Math.ceil((60_000 - (now.getTime() % 60_000)) / 1000));
      throw rateLimitError(PER_MINUTE_MESSAGE, settings.sendRetryAfter ? retryAfter : undefined);
    }
    perDay.count += 1;
    perMinute.count += 1;
  }

  reset(): void {
    this.minute.clear();
    this.day.clear();
  }

  private counter(map: Map<string, Counter>, bucket: string, window: string): Counter {
    let counter = map.get(bucket);
    if (!counter || counter.window !== window) {
      counter = { window, count: 0 };
      map.set(bucket, counter);
    }
    return counter;
  }

  /** Seconds until the account-local date changes (searched in 1-minute steps; DST-safe enough). */
  private secondsToNextDay(now: Date): number {
    const zone = this.settings().timeZone;
    const today = formatSm8DateTime(now, zone).slice(0, 10);
    let probe = now.getTime() - (now.getTime() % 60_000);
    while (formatSm8DateTime(new Date(probe), zone).slice(0, 10) === today) probe += 60_000;
    return Math.max(1, Math.ceil((probe - now.getTime()) / 1000));
  }
}
