import {
  DEFAULT_FAST_POLL_MS,
  DEFAULT_MAX_FAST_PASSES,
  DEFAULT_REGULAR_POLL_MS,
  fastPolling,
  nextPoll,
} from '../../domain/poll-cadence';
import { baseOfTaskQueue, laneOfTaskQueue, laneTaskQueue, LANES } from '../../domain/lanes';

const fast = fastPolling(DEFAULT_REGULAR_POLL_MS, DEFAULT_FAST_POLL_MS);

describe('TRG-2: adaptive polling, the cadence decision', () => {
  it('TRG-2: every change announced by a webhook (or none at all, idle): the next pass is the regular one', () => {
    expect(nextPoll(fast, { unannounced: 0 }, 0)).toEqual({
      next: 'regular',
      reason: 'every change found was announced by a webhook',
    });
  });

  it('TRG-2: a change no webhook announced: a gap is suspected, the next pass comes after the fast interval', () => {
    expect(nextPoll(fast, { unannounced: 2 }, 0)).toEqual({
      next: 'fast',
      afterMs: 60_000,
      reason: '2 change(s) found that no webhook announced: a gap is suspected',
    });
    // A gap the pass itself reports (CDC look-back exceeded) counts as well.
    expect(nextPoll(fast, { unannounced: 0, gap: 'CDC look-back exceeded' }, 0)).toMatchObject({
      next: 'fast',
      reason: expect.stringContaining('CDC look-back exceeded'),
    });
  });

  it('TRG-2: fast passes continue until one is quiet, then the regular schedule takes over', () => {
    expect(nextPoll(fast, { unannounced: 1 }, 3)).toMatchObject({ next: 'fast' });
    expect(nextPoll(fast, { unannounced: 0 }, 4)).toEqual({
      next: 'regular',
      reason: 'quiet again after 4 fast pass(es): back to the regular interval',
    });
  });

  it('TRG-2: webhooks that stay broken do not keep the connection on fast passes for ever', () => {
    expect(nextPoll(fast, { unannounced: 5 }, DEFAULT_MAX_FAST_PASSES - 1)).toMatchObject({ next: 'fast' });
    expect(nextPoll(fast, { unannounced: 5 }, DEFAULT_MAX_FAST_PASSES)).toMatchObject({
      next: 'regular',
      reason: expect.stringContaining(`${DEFAULT_MAX_FAST_PASSES} fast passes in a row`),
    });
  });

  it('TRG-2: the defaults stay within the 20 minutes the rules allow, and fast is never slower than regular', () => {
    expect(DEFAULT_REGULAR_POLL_MS).toBeLessThanOrEqual(20 * 60_000);
    expect(fast).toEqual({ everyMs: 60_000, maxPasses: DEFAULT_MAX_FAST_PASSES });
    expect(fastPolling(2_000, 60_000).everyMs).toBe(2_000);
  });
});

describe('issue 12: lanes as task queues', () => {
  it('a lane queue is <base>-<lane>; its lane and its base are read back from it', () => {
    for (const lane of LANES) {
      const queue = laneTaskQueue('sm8-qbo-sync', lane);
      expect(queue).toBe(`sm8-qbo-sync-${lane}`);
      expect(laneOfTaskQueue(queue)).toBe(lane);
      expect(baseOfTaskQueue(queue)).toBe('sm8-qbo-sync');
    }
    expect(laneOfTaskQueue('sm8-qbo-sync')).toBeUndefined();
    expect(baseOfTaskQueue('sm8-qbo-sync')).toBe('sm8-qbo-sync');
  });
});
