/**
 * Wake-ups of the rate governor's waiters: releases of concurrency slots (this process's, and other
 * processes' through LISTEN/NOTIFY on store/rate-permits.ts RELEASE_CHANNEL), and sleeps that such a release
 * (or a newcomer of a higher lane, `kick`) ends early. apis/governor/rate-governor.ts uses one per governor.
 */
import type { Client, Pool } from 'pg';
import {
  listenForReleases,
  releaseListenerClient,
  releasePermits,
  RELEASE_CHANNEL,
} from '../../store/rate-permits';
import { PARENT, type GovernedApi, type Permit, type Plan } from './policy';

const MAX_TIMER_MS = 2_147_483_647;
/** After the LISTEN connection failed, do not try to reopen it for this long. */
const LISTEN_RETRY_MS = 5_000;

/** The key of a (connection, API family): releases of 'qbo-batch' permits free 'qbo' slots too. */
export const familyKey = (connectionId: string, api: GovernedApi): string =>
  `${connectionId}\u0000${PARENT[api] ?? api}`;

export class ReleaseListener {
  /** Release events per family key: counter and sleepers to wake. */
  private readonly epochs = new Map<string, number>();
  private readonly sleepers = new Map<string, Set<() => void>>();
  private listen: { client: Client; ready: Promise<boolean> } | null = null;
  private retryAt = 0;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly now: () => number,
  ) {}

  epoch(key: string): number {
    return this.epochs.get(key) ?? 0;
  }

  /** A release happened for `key`: wakes its sleepers. */
  wake(key: string): void {
    this.epochs.set(key, this.epoch(key) + 1);
    const set = this.sleepers.get(key);
    if (set) for (const fn of [...set]) fn();
  }

  /**
   * Sleeps ms; ends early on a release of `wakeKey` (if given) or when `onKick` is called back. Never
   * rejects: the caller (one queue's pump) serves many waiters, whose cancellations are their own.
   */
  sleep(ms: number, wakeKey: string | undefined, onKick: (wake: () => void) => () => void): Promise<void> {
    return new Promise<void>((resolve) => {
      let unkick: () => void = () => undefined;
      const finish = () => {
        clearTimeout(timer);
        unkick();
        if (wakeKey) {
          const set = this.sleepers.get(wakeKey);
          set?.delete(finish);
          if (set?.size === 0) this.sleepers.delete(wakeKey);
        }
        resolve();
      };
      // setTimeout fires at once beyond 2^31-1 ms; a longer wait (a huge Retry-After) just re-checks then.
      const timer = setTimeout(finish, Math.min(Math.max(0, ms), MAX_TIMER_MS));
      unkick = onKick(finish);
      if (wakeKey) {
        let set = this.sleepers.get(wakeKey);
        if (!set) this.sleepers.set(wakeKey, (set = new Set()));
        set.add(finish);
      }
    });
  }

  private onNotification(payload: string | undefined): void {
    try {
      const parsed: unknown = JSON.parse(payload ?? '');
      if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') return;
      this.wake(familyKey(parsed[0], parsed[1] as GovernedApi));
    } catch {
      // Not ours or malformed: the poll cap still bounds every wait.
    }
  }

  /**
   * One LISTEN connection per governor, opened on the first concurrency wait. A separate Client (same
   * settings as the pool) so it never occupies a pool slot. If it fails, waits fall back to polling.
   */
  ensure(): Promise<boolean> {
    if (this.listen) return this.listen.ready;
    if (this.closed || this.now() < this.retryAt) return Promise.resolve(false);
    const client = releaseListenerClient(this.pool);
    const entry = { client, ready: Promise.resolve(false) };
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      if (this.listen === entry) {
        this.listen = null;
        this.retryAt = this.now() + LISTEN_RETRY_MS;
      }
      void client.end().catch(() => undefined);
    };
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', (msg) => {
      if (msg.channel === RELEASE_CHANNEL) this.onNotification(msg.payload);
    });
    entry.ready = listenForReleases(client).then(
      () => !dropped,
      () => {
        drop();
        return false;
      },
    );
    this.listen = entry;
    return entry.ready;
  }

  async close(): Promise<void> {
    this.closed = true;
    const listen = this.listen;
    this.listen = null;
    if (listen) await listen.client.end().catch(() => undefined);
  }
}

/** A granted permit: its release frees the slot (a no-op without concurrency limits) and wakes local waiters. */
export function permitOf(
  pool: Pool,
  listener: ReleaseListener,
  fam: string,
  plan: Plan,
  ids: string[],
  waitedFor: string | null,
): Permit {
  if (!plan.hold) return { release: () => Promise.resolve(), waitedFor };
  let released = false;
  let pending: Promise<void> | null = null;
  return {
    waitedFor,
    release: () => {
      if (released) return Promise.resolve();
      pending ??= releasePermits(pool, ids).then(
        () => {
          released = true;
          // Wake local waiters at once; other processes hear the NOTIFY.
          listener.wake(fam);
        },
        (err: unknown) => {
          pending = null; // let the caller retry a failed release
          throw err;
        },
      );
      return pending;
    },
  };
}
