/**
 * The part of '@temporalio/workflow' the owner workflows use, on a virtual clock, for timer tests without a
 * server: `jest.mock('@temporalio/workflow', () => require('./virtual-time').workflowApi)`. The workflow
 * functions run as they are; their activities are fakes the test gives (`world.acts`). A wait
 * (`condition` with a timeout, `sleep`) jumps the clock to the next scheduled event (a signal the test
 * queued with `world.at`) or to the end of the wait; every timer asked for is logged with the time it began.
 *
 * Temporal's time-skipping test server would do the same with the real SDK; it is a separate download this
 * workplace cannot fetch, so this fake stands in. What it checks is the workflows' timer logic: which timers
 * they ask for, when they end, when they hand over (continue-as-new) and what they carry.
 */
import { ActivityFailure, ApplicationFailure, msToNumber, type Duration } from '@temporalio/common';

type Handler = (...args: unknown[]) => unknown;

/** A run handing over to a new one: what it passed to continueAsNew. */
export class ContinuedAsNew extends Error {
  constructor(readonly args: unknown[]) {
    super('continued as new');
  }
}

export interface VirtualWorld {
  /** Virtual milliseconds since the workflow started. */
  now: number;
  /** Every timer asked for: when (virtual ms) and how long. */
  timers: Array<{ at: number; duration: string }>;
  /** Fake activities, by name. */
  acts: Record<string, (...args: unknown[]) => Promise<unknown>>;
  handlers: Map<string, Handler>;
  events: Array<{ at: number; fire: () => void }>;
  /** Queues a signal (by name) for a virtual time. */
  at(ms: number, signal: string, ...args: unknown[]): void;
  query<T>(name: string): T;
  reset(): void;
}

export const world: VirtualWorld = {
  now: 0,
  timers: [],
  acts: {},
  handlers: new Map(),
  events: [],
  at(ms, signal, ...args) {
    this.events.push({
      at: ms,
      fire: () => {
        const h = this.handlers.get(signal);
        if (!h) throw new Error(`no handler for signal ${signal}`);
        h(...args);
      },
    });
    this.events.sort((a, b) => a.at - b.at);
  },
  query<T>(name: string): T {
    const h = this.handlers.get(name);
    if (!h) throw new Error(`no handler for query ${name}`);
    return h() as T;
  },
  reset() {
    this.now = 0;
    this.timers = [];
    this.acts = {};
    this.handlers = new Map();
    this.events = [];
  },
};

/** Lets the clock run to `until` or to the first event before it that makes `done` true. */
async function runClock(until: number, done: () => boolean): Promise<boolean> {
  for (;;) {
    const next = world.events[0];
    if (!next || next.at > until) {
      world.now = Math.max(world.now, until);
      return false;
    }
    // Signals due at the same time arrive together, as in one workflow activation.
    world.now = Math.max(world.now, next.at);
    while (world.events[0] && world.events[0].at === next.at)
      (world.events.shift() as { fire(): void }).fire();
    await Promise.resolve();
    if (done()) return true;
  }
}

let uuids = 0;

export const workflowApi = {
  ActivityFailure,
  ApplicationFailure,
  defineSignal: (name: string) => ({ type: 'signal', name }),
  defineQuery: (name: string) => ({ type: 'query', name }),
  setHandler: (def: { name: string }, fn: Handler) => world.handlers.set(def.name, fn),
  proxyActivities: () =>
    new Proxy(
      {},
      {
        get: (_t, name: string) => (input: unknown) => {
          const act = world.acts[name];
          if (!act) throw new Error(`the test gave no fake for activity ${name}`);
          return act(input);
        },
      },
    ),
  async condition(fn: () => boolean, timeout?: Duration): Promise<boolean | void> {
    if (fn()) return timeout === undefined ? undefined : true;
    if (timeout === undefined) {
      if (await runClock(Number.POSITIVE_INFINITY, fn)) return undefined;
      throw new Error('a condition without timeout that nothing will make true');
    }
    world.timers.push({ at: world.now, duration: String(timeout) });
    return runClock(world.now + msToNumber(timeout), fn);
  },
  async sleep(duration: Duration): Promise<void> {
    world.timers.push({ at: world.now, duration: String(duration) });
    await runClock(world.now + msToNumber(duration), () => false);
  },
  allHandlersFinished: () => true,
  isCancellation: () => false,
  log: { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined },
  workflowInfo: () => ({
    workflowId: 'virtual/c1/job-1',
    continueAsNewSuggested: false,
    typedSearchAttributes: { get: () => undefined },
  }),
  continueAsNew: async (...args: unknown[]): Promise<never> => {
    throw new ContinuedAsNew(args);
  },
  patched: () => true,
  uuid4: () => `uuid-${++uuids}`,
  upsertSearchAttributes: () => undefined,
  upsertMemo: () => undefined,
  setCurrentDetails: () => undefined,
};
