import type { Lane } from '../../domain/lanes';

/** What the API clients need from the rate governor (apis/governor/rate-governor.ts implements it). */
export type GovernedApi = 'sm8' | 'qbo' | 'qbo-batch';

export interface Governor {
  run<T>(
    connectionId: string,
    api: GovernedApi,
    fn: (grant: { waitedFor: string | null }) => Promise<T>,
    opts?: { signal?: AbortSignal },
  ): Promise<T>;
  /** After a 429: `retryAfterMs` from the API's Retry-After, or null (then the governor slows the connection down). */
  penalize(connectionId: string, api: GovernedApi, retryAfterMs: number | null): Promise<void>;
  /** A 429 answered to a call: penalizes when the Retry-After or our pace explains it (rate-governor.ts refused). */
  refused(connectionId: string, api: GovernedApi, retryAfterMs: number | null): Promise<boolean>;
  /** The calls a minute `lane` may make to `api` (onboarding paces its imports by it); null when unknown. */
  minuteLimit?(api: GovernedApi, lane: Lane): number | null;
  /** Releases the governor's own database connection, if it holds one. */
  close?(): Promise<void>;
}

/** No limits: for one-off tools; the worker always uses the real governor. */
export const ungoverned: Governor = {
  run: (_c, _a, fn) => fn({ waitedFor: null }),
  penalize: async () => undefined,
  refused: async () => false,
};
