/**
 * Issue 12: the timer logic of the clients-and-materials bulk read (`cm-read/<connection>`) in virtual time
 * (test/workflows/virtual-time.ts), with a fake activity: a burst of events costs one read, after the
 * debounce; an echo alone is confirmed CONFIRM_ECHOES_AFTER_MS later (not at the idle end); a paused
 * connection is looked at again; the workflow ends when idle.
 */
jest.mock('@temporalio/workflow', () => jest.requireActual('./virtual-time').workflowApi);

import type { BulkReadResult } from '../../activities/clients-materials/bulk-read';
import {
  CONFIRM_ECHOES_AFTER_MS,
  DEBOUNCE_MAX_MS,
  DEBOUNCE_QUIET_MS,
} from '../../domain/clients-materials/echo';
import { clientsMaterialsReadWorkflow } from '../../workflows/clients-materials-read';
import { world } from './virtual-time';

const MIN = 60_000;
const done = (over: Partial<BulkReadResult> = {}): BulkReadResult => ({
  blocked: null,
  calls: 1,
  read: {},
  woken: 0,
  confirmed: 0,
  nextInMs: null,
  ...over,
});

let reads: number[];
beforeEach(() => {
  world.reset();
  reads = [];
  // Workflow time is Date.now() inside a workflow: here, the virtual clock.
  jest.spyOn(Date, 'now').mockImplementation(() => world.now);
});
afterEach(() => jest.restoreAllMocks());

const reader =
  (...results: BulkReadResult[]) =>
  async () => {
    reads.push(world.now);
    return results.shift() ?? done();
  };

describe('issue 12: the bulk read of clients and materials', () => {
  it('CM-2: a burst of events costs one read, once no event came for the quiet time', async () => {
    world.acts = { readDirtyClientsMaterials: reader() };
    for (const at of [0, 300, 600, 900]) world.at(at, 'marked', { echo: false });
    const result = await clientsMaterialsReadWorkflow({ connectionId: 'c1' });
    expect(reads).toEqual([900 + DEBOUNCE_QUIET_MS]);
    expect(result).toEqual({ passes: 1 });
    expect(world.now).toBe(900 + DEBOUNCE_QUIET_MS + 10 * MIN); // then idle, and ended
  });

  it('CM-2: a burst that never pauses is read at most DEBOUNCE_MAX_MS after its first event', async () => {
    world.acts = { readDirtyClientsMaterials: reader() };
    for (let at = 0; at <= 6_000; at += 500) world.at(at, 'marked', { echo: false });
    await clientsMaterialsReadWorkflow({ connectionId: 'c1' });
    expect(reads[0]).toBe(DEBOUNCE_MAX_MS);
    expect(reads).toHaveLength(2); // the events after the first read: one more read
  });

  it('CM-2: the echo of our own write alone is confirmed CONFIRM_ECHOES_AFTER_MS later', async () => {
    world.acts = { readDirtyClientsMaterials: reader() };
    world.at(5_000, 'marked', { echo: true });
    world.at(6_000, 'marked', { echo: true });
    await clientsMaterialsReadWorkflow({ connectionId: 'c1' });
    expect(reads).toEqual([5_000 + CONFIRM_ECHOES_AFTER_MS]);
  });

  it('CM-2: echoes left by a read (not due yet) are read when they are due', async () => {
    world.acts = { readDirtyClientsMaterials: reader(done({ nextInMs: 30_000 })) };
    world.at(0, 'marked', { echo: false });
    await clientsMaterialsReadWorkflow({ connectionId: 'c1' });
    expect(reads).toEqual([DEBOUNCE_QUIET_MS, DEBOUNCE_QUIET_MS + 30_000]);
  });

  it('CON-3: on a paused connection it looks again (or at the reconnect) instead of reading', async () => {
    world.acts = {
      readDirtyClientsMaterials: reader(done({ blocked: 'paused' }), done({ blocked: 'paused' })),
    };
    world.at(0, 'marked', { echo: false });
    world.at(8_000, 'connectionRestored');
    await clientsMaterialsReadWorkflow({ connectionId: 'c1' });
    // Blocked at 1 s, again at 6 s (5 s later), then the reconnect at 8 s: read at once.
    expect(reads).toEqual([DEBOUNCE_QUIET_MS, DEBOUNCE_QUIET_MS + 5_000, 8_000]);
  });
});
