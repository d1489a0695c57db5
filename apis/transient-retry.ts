/**
 * A call that failed in passing (a 5xx, a 408, no answer: a dropped socket or a timeout) is sent again by the
 * client, up to twice, 0.25 s and then 1 s later, before the failure goes to Temporal's backoff (the two
 * clients in apis/). An activity makes several calls: at the long soak's 10 % of faulted calls about half of
 * its attempts failed on one of them, each retry redid the calls before it, and a few activities failed seven
 * times in a row, backing off past a minute; one held a job's payments for 94 s after the faults stopped.
 *
 * Sending again is safe because every call is idempotent already, which Temporal's retries rely on too
 * (design principle 5, docs/design.md): QuickBooks creates carry a requestid, updates a SyncToken, ServiceM8
 * creates a uuid we made. When an API looks down (five such failures in a row in this process, no answer
 * between them), a call is not sent again: Temporal's backoff spaces the attempts instead of tripling the
 * calls of an outage.
 * Every send is counted (`sm8qbo_api_calls_total` by status) and takes its own governor permit.
 */
import { isAxiosError } from 'axios';
import { isTransientApiError, type ApiName } from './errors';

export const TRANSIENT_RETRY_DELAYS_MS: readonly number[] = [250, 1000];
/** Failures in passing in a row (this process, one API) after which the API is taken as down. */
export const DOWN_AFTER = 5;

const inARow = new Map<ApiName, number>();

/** The API answered (any answer but a 5xx or 408): it is up. */
export function apiAnswered(api: ApiName): void {
  inARow.set(api, 0);
}

/**
 * After a failed send: waits and returns true when the call should be sent again (a failure in passing,
 * fewer than TRANSIENT_RETRY_DELAYS_MS retries so far, the API not down), false when it should fail.
 */
export async function sendAgain(
  api: ApiName,
  err: unknown,
  retriesSoFar: number,
  signal?: AbortSignal,
): Promise<boolean> {
  if (!isTransientApiError(err)) {
    if (isAxiosError(err) && err.response) apiAnswered(api);
    return false;
  }
  const failures = (inARow.get(api) ?? 0) + 1;
  inARow.set(api, failures);
  const delay = TRANSIENT_RETRY_DELAYS_MS[retriesSoFar];
  if (delay === undefined || failures >= DOWN_AFTER) return false;
  await new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(resolve, delay);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason ?? new Error('aborted'));
      },
      { once: true },
    );
  });
  return true;
}
