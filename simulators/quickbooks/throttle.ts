import { type SimClock } from './clock';
import { type ThrottleOptions } from './config';

interface RealmWindow {
  requests: number[];
  batches: number[];
  inFlight: number;
}

/**
 * Per-realm limits on the simulated clock (docs/quickbooks-api.md §3): requests per minute and per second,
 * requests in flight, batch calls per minute. Only admitted requests count. `force` makes the next N requests
 * fail regardless.
 */
export class Throttle {
  private readonly realms = new Map<string, RealmWindow>();
  private readonly forced = new Map<string, number>();

  constructor(
    private readonly clock: SimClock,
    private readonly limits: () => Required<ThrottleOptions>,
  ) {}

  admit(realmId: string, isBatch: boolean): boolean {
    if (this.consumeForced(realmId)) return false;
    const limits = this.limits();
    const window = this.window(realmId);
    const now = this.clock.nowMs();
    window.requests = window.requests.filter((at) => at > now - 60_000);
    window.batches = window.batches.filter((at) => at > now - 60_000);
    const lastSecond = window.requests.filter((at) => at > now - 1000).length;
    if (window.inFlight >= limits.concurrent) return false;
    if (lastSecond >= limits.perSecond) return false;
    if (window.requests.length >= limits.perMinute) return false;
    if (isBatch && window.batches.length >= limits.batchPerMinute) return false;
    window.requests.push(now);
    if (isBatch) window.batches.push(now);
    window.inFlight++;
    return true;
  }

  release(realmId: string): void {
    const window = this.window(realmId);
    window.inFlight = Math.max(0, window.inFlight - 1);
  }

  /** The next `count` requests (to `realmId`, or to any realm) get 429. */
  force(count: number, realmId = '*'): void {
    this.forced.set(realmId, (this.forced.get(realmId) ?? 0) + count);
  }

  reset(): void {
    this.realms.clear();
    this.forced.clear();
  }

  private consumeForced(realmId: string): boolean {
    for (const key of [realmId, '*']) {
      const left = this.forced.get(key) ?? 0;
      if (left > 0) {
        this.forced.set(key, left - 1);
        return true;
      }
    }
    return false;
  }

  private window(realmId: string): RealmWindow {
    let window = this.realms.get(realmId);
    if (!window) {
      window = { requests: [], batches: [], inFlight: 0 };
      this.realms.set(realmId, window);
    }
    return window;
  }
}
