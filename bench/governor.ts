/**
 * Rate-governor benchmark (docs/benchmarks.md, docs/rate-governor.md).
 *
 *   npx tsx bench/governor.ts [--seconds 75] [--baseline-seconds 20] [--qbo-callers 16] [--sm8-callers 8]
 *       [--qbo-latency-ms 300] [--qbo-slow-ms 2500] [--qbo-slow-share 0.2] [--sm8-latency-ms 300]
 *       [--governor-second-ms 1000]
 *   npx tsx bench/governor.ts --lanes [...]   interactive permit waits under bulk load, lanes vs FIFO
 *                                             (bench/governor-lanes.ts)
 *
 * Self-contained and loopback only: a fresh PostgreSQL database (DATABASE_URL's server, else the local one,
 * else the embedded one, like the tests; dropped at the end), both API simulators in process with their real
 * default limits (QBO 500/min, 10/s, 10 in flight per realm; SM8 180/min, 20,000/day per account), and
 * connections whose tokens are written straight into the connections table. No Temporal: the product's API
 * clients (built by buildActivityDeps, as in a worker) are called directly by flat-out callers.
 *
 * Side by side in one run:
 *  1. governed   — two "worker processes" (own pool, own RateGovernor from createGovernor, own token managers)
 *                  hammer one connection for --seconds;
 *  2. ungoverned — the same load with the pass-through `ungoverned` governor against a fresh QBO realm and a
 *                  reset SM8 account, for --baseline-seconds.
 * Outcomes are counted by the callers (classified failures), at the HTTP layer (axios interceptors: status,
 * send time, calls in flight) and by the simulators' own stats; plus the permits in the database.
 *
 * The simulators answer in about a millisecond, so latency is injected with simulator fault rules that only
 * carry `latencyMs` (QBO applies it after admission, so a slow call holds a concurrency slot as with the
 * real API): by default 300 ms per QBO call, 2.5 s for a random 20% ("heavy queries", which is what makes
 * the 10-in-flight limit bite), 300 ms per SM8 call.
 * --governor-second-ms is an experiment, not the product: the governed workers then use a RateGovernor whose
 * per-second window is judged over that many ms (windowsMs.second) instead of createGovernor's.
 *
 * Exit code 0 = every target met, 1 = a target missed, 2 = the benchmark itself failed, 130 = interrupted.
 */
import { simulatorProductEnv } from '../workers/demo';
import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { ApplicationFailure } from '@temporalio/common';
import axios, { isAxiosError, type InternalAxiosRequestConfig } from 'axios';
import type { Pool } from 'pg';
import { ConnectionStore, type QboToken } from '../store/connections';
import { type Governor, ungoverned } from '../apis/governor/governor';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { API_LIMITS, RateGovernor } from '../apis/governor/rate-governor';
import { ServiceM8Client } from '../apis/servicem8/client';
import { FailureType } from '../domain/failures';
import { loadConfig, type Config } from '../infra/config';
import { createPool, dropDatabase, ensureDatabaseExists, resolveDatabase } from '../infra/database';
import { migrate } from '../infra/migrate';
import { SecretBox } from '../infra/secrets';
import { startQuickBooksSimulator, type RunningQuickBooksSimulator } from '../simulators/quickbooks';
import {
  DEFAULT_API_KEY,
  startServiceM8Simulator,
  VENDOR_UUID,
  type RunningServiceM8Simulator,
} from '../simulators/servicem8';
import { buildActivityDeps, createGovernor } from '../workers/activity-deps';
import { runLanesBench } from './governor-lanes';

type Api = 'qbo' | 'sm8';
type Mode = 'governed' | 'ungoverned';

const APIS: Api[] = ['qbo', 'sm8'];
const LABEL: Record<Api, string> = { qbo: 'QBO', sm8: 'SM8' };
/** Documented per-connection limits (the ones the governor is configured from). */
const PER_MINUTE: Record<Api, number> = {
  qbo: API_LIMITS.qbo.perMinute ?? 500,
  sm8: API_LIMITS.sm8.perMinute ?? 180,
};
const QBO_PER_SECOND = API_LIMITS.qbo.perSecond ?? 10;
const QBO_CONCURRENT = API_LIMITS.qbo.concurrent ?? 10;
/** Targets from the issue. */
const MAX_429_SHARE = 0.005;
const MIN_FRACTION_OF_LIMIT = 0.85;
const WORKERS = 2;
const POOL_SIZE = 10;

export interface BenchOptions {
  seconds: number;
  baselineSeconds: number;
  qboCallers: number;
  sm8Callers: number;
  /** Latency the QBO simulator adds to a call (after admission: the call holds a concurrency slot). */
  qboLatencyMs: number;
  /** Latency of the slow share of QBO calls (heavier queries); with qboSlowShare. */
  qboSlowMs: number;
  qboSlowShare: number;
  sm8LatencyMs: number;
  /**
   * Experiment, not the product: governed workers use `new RateGovernor(pool, {
   * windowsMs: { second } })` instead of createGovernor(pool) when this is not 1000.
   */
  governorSecondMs: number;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  seconds: 75,
  baselineSeconds: 20,
  qboCallers: 16,
  sm8Callers: 8,
  qboLatencyMs: 300,
  qboSlowMs: 2500,
  qboSlowShare: 0.2,
  sm8LatencyMs: 300,
  governorSecondMs: 1000,
};

interface FlagSpec {
  key: keyof BenchOptions;
  min: number;
  max: number;
  integer: boolean;
}

const FLAGS: Record<string, FlagSpec> = {
  '--seconds': { key: 'seconds', min: 1, max: 3600, integer: false },
  '--baseline-seconds': { key: 'baselineSeconds', min: 1, max: 3600, integer: false },
  '--qbo-callers': { key: 'qboCallers', min: 1, max: 500, integer: true },
  '--sm8-callers': { key: 'sm8Callers', min: 1, max: 500, integer: true },
  '--qbo-latency-ms': { key: 'qboLatencyMs', min: 0, max: 60_000, integer: true },
  '--qbo-slow-ms': { key: 'qboSlowMs', min: 0, max: 60_000, integer: true },
  '--qbo-slow-share': { key: 'qboSlowShare', min: 0, max: 1, integer: false },
  '--sm8-latency-ms': { key: 'sm8LatencyMs', min: 0, max: 60_000, integer: true },
  '--governor-second-ms': { key: 'governorSecondMs', min: 1, max: 60_000, integer: true },
};

export function parseArgs(argv: string[]): BenchOptions {
  const opts = { ...DEFAULT_OPTIONS };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    const [flag = '', inline] = arg.split('=', 2);
    const spec = FLAGS[flag];
    if (!spec) throw new Error(`unknown argument ${arg}; known: ${Object.keys(FLAGS).join(', ')}`);
    const raw = inline ?? argv[(i += 1)];
    const value = Number(raw);
    if (
      raw === undefined ||
      raw.trim() === '' ||
      !Number.isFinite(value) ||
      value < spec.min ||
      value > spec.max ||
      (spec.integer && !Number.isInteger(value))
    ) {
      const kind = spec.integer ? 'an integer' : 'a number';
      throw new Error(`${flag} needs ${kind} between ${spec.min} and ${spec.max}, got ${String(raw)}`);
    }
    opts[spec.key] = value;
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------------------
// Measurement

interface HttpSample {
  api: Api;
  /** ms since the phase started (performance clock) when axios sent the request. */
  start: number;
  end: number;
  /** HTTP status; 0 = no answer (network error, aborted). */
  status: number;
  /** ms since the phase started when the governor handed the caller its permit. */
  granted?: number;
}

/** Carries the moment a permit was granted into the axios interceptor of the call it was granted for. */
const grantContext = new AsyncLocalStorage<{ grantedAt: number }>();

/** Every API request of the product's clients, seen through axios' global interceptors. */
class HttpRecorder {
  samples: HttpSample[] = [];
  readonly inFlight: Record<Api, number> = { qbo: 0, sm8: 0 };
  readonly peakInFlight: Record<Api, number> = { qbo: 0, sm8: 0 };
  private origin = performance.now();
  private readonly open = new WeakMap<object, { api: Api; start: number; granted?: number }>();
  private ejectors: Array<() => void> = [];

  constructor(private readonly classify: (config: InternalAxiosRequestConfig) => Api | null) {}

  install(): void {
    const req = axios.interceptors.request.use((config) => {
      const api = this.classify(config);
      if (api) {
        const grant = grantContext.getStore();
        this.open.set(config, {
          api,
          start: performance.now() - this.origin,
          ...(grant ? { granted: grant.grantedAt - this.origin } : {}),
        });
        this.inFlight[api] += 1;
        this.peakInFlight[api] = Math.max(this.peakInFlight[api], this.inFlight[api]);
      }
      return config;
    });
    const res = axios.interceptors.response.use(
      (response) => {
        this.finish(response.config, response.status);
        return response;
      },
      (err: unknown) => {
        if (isAxiosError(err) && err.config) this.finish(err.config, err.response?.status ?? 0);
        return Promise.reject(err);
      },
    );
    this.ejectors = [
      () => axios.interceptors.request.eject(req),
      () => axios.interceptors.response.eject(res),
    ];
  }

  uninstall(): void {
    for (const eject of this.ejectors) eject();
    this.ejectors = [];
  }

  /** Starts a new phase: empty samples, peaks from zero, times relative to now. */
  reset(): void {
    this.samples = [];
    this.origin = performance.now();
    for (const api of APIS) this.peakInFlight[api] = this.inFlight[api];
  }

  private finish(config: object, status: number): void {
    const open = this.open.get(config);
    if (!open) return;
    this.open.delete(config);
    this.inFlight[open.api] -= 1;
    this.samples.push({ ...open, end: performance.now() - this.origin, status });
  }
}

interface Tally {
  ok: number;
  rateLimited429: number;
  /** ApiRateLimited raised by our own governor (RateGovernorTimeout), not by the API. */
  governorTimeouts: number;
  aborted: number;
  other: number;
  firstOther?: string;
}

function emptyTally(): Tally {
  return { ok: 0, rateLimited429: 0, governorTimeouts: 0, aborted: 0, other: 0 };
}

/** Round trips of the governor's SQL, timed as the caller sees them (pool checkout included). */
interface SqlTimings {
  acquire: number[];
  granted: number;
  refused: number;
  release: number[];
}

function emptyTimings(): SqlTimings {
  return { acquire: [], granted: 0, refused: 0, release: [] };
}

/** Wraps pool.query to time the governor's statements (tryOnce and release), nothing else. */
function instrumentPool(pool: Pool, sink: SqlTimings): void {
  const original = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const text = typeof args[0] === 'string' ? args[0] : '';
    const kind = text.includes('rate_governor_try_acquire')
      ? 'acquire'
      : text.includes('UPDATE rate_permits SET released_at')
        ? 'release'
        : null;
    const started = performance.now();
    const result = original(...args);
    if (!kind || !(result instanceof Promise)) return result;
    return result.then((r: { rows?: Array<{ permit_ids?: unknown }> }) => {
      sink[kind].push(performance.now() - started);
      if (kind === 'acquire') {
        if (r.rows?.[0]?.permit_ids) sink.granted += 1;
        else sink.refused += 1;
      }
      return r;
    });
  };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Most events (sorted times, ms) inside any window of `widthMs`. */
function peakInWindow(sortedTimes: number[], widthMs: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sortedTimes.length; hi += 1) {
    while ((sortedTimes[hi] ?? 0) - (sortedTimes[lo] ?? 0) >= widthMs) lo += 1;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/**
 * Calls per minute. A run of at least a minute: the mean over every whole 60 s window inside it (one per
 * second), which is what a per-minute limit bounds; a governed run fills its first minute in a burst, so
 * calls ÷ minutes over e.g. 75 s would overstate the steady rate. A shorter run: calls ÷ minutes.
 */
function perMinute(sortedTimes: number[], seconds: number): { value: number; extrapolated: boolean } {
  if (seconds < 60) return { value: (sortedTimes.length * 60) / seconds, extrapolated: true };
  const windows = Math.floor(seconds - 60) + 1;
  let sum = 0;
  for (let s = 0; s < windows; s += 1) {
    const from = s * 1000;
    const to = from + 60_000;
    sum += sortedTimes.filter((t) => t >= from && t < to).length;
  }
  return { value: sum / windows, extrapolated: false };
}

// ---------------------------------------------------------------------------------------------------------
// Callers

class PhaseOver extends Error {
  override readonly name = 'PhaseOver';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * The phase's end stops callers waiting for a permit (a SM8 caller may wait ~a minute); a call already
 * granted runs to its answer, so the simulators' counts and ours agree.
 */
function gate(inner: Governor, stop: AbortSignal): Governor {
  return {
    run: (connectionId, api, fn) =>
      inner.run(
        connectionId,
        api,
        (grant) => grantContext.run({ grantedAt: performance.now() }, () => fn(grant)),
        {
          signal: stop,
        },
      ),
    penalize: (connectionId, api, ms) => inner.penalize(connectionId, api, ms),
    refused: (connectionId, api, ms) => inner.refused(connectionId, api, ms),
    close: () => inner.close?.() ?? Promise.resolve(),
  };
}

type Outcome = 'rateLimited429' | 'governorTimeouts' | 'other';

/** What the clients threw: a 429 from the API (ApiRateLimited with the HTTP details), our governor giving up. */
function classify(err: unknown): Outcome {
  if (err instanceof ApplicationFailure && err.type === FailureType.rateLimited) {
    const detail = err.details?.[0] as { status?: unknown } | undefined;
    return detail && typeof detail === 'object' && detail.status === 429
      ? 'rateLimited429'
      : 'governorTimeouts';
  }
  if (isAxiosError(err) && err.response?.status === 429) return 'rateLimited429';
  return 'other';
}

function retryDelayMs(err: unknown): number {
  const delay = err instanceof ApplicationFailure ? err.nextRetryDelay : undefined;
  return typeof delay === 'number' ? delay : 1_000;
}

async function callerLoop(op: () => Promise<unknown>, tally: Tally, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    try {
      await op();
      tally.ok += 1;
    } catch (err) {
      const outcome = classify(err);
      if (outcome === 'other' && stop.aborted) {
        tally.aborted += 1; // stopped while waiting for a permit: never sent
        return;
      }
      tally[outcome] += 1;
      if (outcome === 'governorTimeouts') {
        // What Temporal would do: retry after nextRetryDelay instead of spinning on the database.
        await sleep(retryDelayMs(err), stop);
      } else if (outcome === 'other') {
        tally.firstOther ??= err instanceof Error ? err.message : String(err);
        await sleep(100, stop);
      }
      // A 429 is counted and the caller goes on at once (the governed client has penalized the governor).
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Phases

interface Env {
  config: Config;
  databaseUrl: string;
  qbo: RunningQuickBooksSimulator;
  sm8: RunningServiceM8Simulator;
  recorder: HttpRecorder;
  admin: Pool;
  cancel: AbortSignal;
  opts: BenchOptions;
}

interface PhaseSpec {
  mode: Mode;
  connectionId: string;
  realmId: string;
  seconds: number;
}

interface ApiResult {
  mode: Mode;
  api: Api;
  seconds: number;
  wallMs: number;
  tally: Tally;
  calls: number;
  ok: number;
  http429: number;
  otherStatus: number;
  okPerMinute: number;
  extrapolated: boolean;
  peak60s: number;
  peak1s: number;
  peakInFlight: number;
  sim: { calls: number; rateLimited: number };
  /** The governor's own record (governed phase): permits by grant time on the database clock. */
  db: DbView | null;
  /** ms from the permit to axios sending the request (token read, event loop). */
  grantToSend: number[];
  /** The same for permits granted in the phase's first second (cold start, first burst). */
  grantToSendFirstSecond: number[];
  /** The first 429s: send time (ms into the phase) and ok calls sent in the second before. */
  first429s: Array<{ at: number; okBefore: number }>;
}

interface DbView {
  permits: number;
  peak60s: number;
  peak1s: number;
}

function dbView(grantedAt: number[]): DbView {
  const sorted = [...grantedAt].sort((a, b) => a - b);
  return {
    permits: sorted.length,
    peak60s: peakInWindow(sorted, 60_000),
    peak1s: peakInWindow(sorted, 1_000),
  };
}

interface PhaseResult {
  apis: ApiResult[];
  sql: SqlTimings;
}

function qboSimCounts(qbo: RunningQuickBooksSimulator): { calls: number; rateLimited: number } {
  const stats = qbo.control.stats();
  const calls = Object.entries(stats.perEndpoint)
    .filter(([endpoint]) => endpoint.includes('/v3/company/'))
    .reduce((sum, [, n]) => sum + n, 0);
  return { calls, rateLimited: stats.throttled };
}

function sm8SimCounts(sm8: RunningServiceM8Simulator): { calls: number; rateLimited: number } {
  const stats = sm8.control.calls.stats();
  return { calls: stats.total, rateLimited: stats.rateLimited };
}

async function runPhase(env: Env, spec: PhaseSpec): Promise<PhaseResult> {
  const { opts, recorder } = env;
  const stopper = new AbortController();
  const stop = stopper.signal;
  setMaxListeners(0, stop); // every caller's permit wait listens to it
  const onCancel = () => stopper.abort(new PhaseOver('cancelled'));
  env.cancel.addEventListener('abort', onCancel, { once: true });
  const sql = emptyTimings();
  const pools: Pool[] = [];
  const governors: Governor[] = [];
  try {
    // The SM8 simulator is one account: a reset gives each phase fresh minute/day counters and call stats.
    env.sm8.control.reset();
    env.sm8.control.faults.clear();
    if (opts.sm8LatencyMs > 0)
      env.sm8.control.faults.add({ path: '/api_1.0/', latencyMs: opts.sm8LatencyMs });
    const qboBefore = qboSimCounts(env.qbo);

    const tallies: Record<Api, Tally> = { qbo: emptyTally(), sm8: emptyTally() };
    const loops: Array<() => Promise<void>> = [];
    for (let w = 0; w < WORKERS; w += 1) {
      // One "worker process": its own pool, governor, token managers and clients, as buildActivityDeps makes them.
      const pool = createPool(env.databaseUrl, POOL_SIZE);
      pools.push(pool);
      let governor: Governor = ungoverned;
      if (spec.mode === 'governed') {
        instrumentPool(pool, sql);
        governor =
          opts.governorSecondMs === 1000
            ? createGovernor(pool)
            : new RateGovernor(pool, { windowsMs: { second: opts.governorSecondMs } });
      }
      governors.push(governor);
      const deps = buildActivityDeps(env.config, pool, gate(governor, stop));
      const qbo = new QuickBooksClient(deps.qboClientDeps(), spec.connectionId);
      const sm8 = new ServiceM8Client(deps.sm8ClientDeps(), spec.connectionId);
      for (let i = 0; i < opts.qboCallers; i += 1) {
        let n = i;
        const op = () =>
          (n += 1) % 2 === 0
            ? qbo.getCompanyInfo(spec.realmId)
            : qbo.query('Customer', 'SELECT * FROM Customer MAXRESULTS 10');
        loops.push(() => callerLoop(op, tallies.qbo, stop));
      }
      for (let i = 0; i < opts.sm8Callers; i += 1) {
        let n = i;
        const op = () => ((n += 1) % 2 === 0 ? sm8.list('vendor') : sm8.read('vendor', VENDOR_UUID));
        loops.push(() => callerLoop(op, tallies.sm8, stop));
      }
    }

    recorder.reset();
    const started = performance.now();
    const timer = setTimeout(() => stopper.abort(new PhaseOver('time is up')), spec.seconds * 1000);
    let lastProgress = started;
    const progress = setInterval(() => {
      const now = performance.now();
      if (now - lastProgress < 15_000) return;
      lastProgress = now;
      const line = APIS.map(
        (api) => `${LABEL[api]} ok ${tallies[api].ok} 429 ${tallies[api].rateLimited429}`,
      );
      log(`  ${spec.mode} t=${Math.round((now - started) / 1000)} s: ${line.join(', ')}`);
    }, 1_000);
    try {
      const all = Promise.all(loops.map((loop) => loop()));
      // Callers end at the deadline plus one call; never wait for ever.
      const watchdog = new Promise<'late'>((resolve) => {
        const t = setTimeout(() => resolve('late'), spec.seconds * 1000 + 60_000);
        void all.finally(() => clearTimeout(t));
      });
      if ((await Promise.race([all, watchdog])) === 'late') {
        throw new Error(`${spec.mode}: callers still busy 60 s after the end of the phase`);
      }
    } finally {
      clearTimeout(timer);
      clearInterval(progress);
    }
    const wallMs = performance.now() - started;
    if (env.cancel.aborted) throw new PhaseOver('cancelled');

    const samples = recorder.samples;
    const qboAfter = qboSimCounts(env.qbo);
    const sim: Record<Api, { calls: number; rateLimited: number }> = {
      qbo: {
        calls: qboAfter.calls - qboBefore.calls,
        rateLimited: qboAfter.rateLimited - qboBefore.rateLimited,
      },
      sm8: sm8SimCounts(env.sm8),
    };
    const db: Partial<Record<Api, DbView>> = {};
    if (spec.mode === 'governed') {
      const { rows } = await env.admin.query<{ api: string; g: number }>(
        `SELECT api, extract(epoch FROM granted_at)::float8 * 1000 AS g
           FROM rate_permits WHERE connection_id = $1`,
        [spec.connectionId],
      );
      for (const api of APIS) db[api] = dbView(rows.filter((row) => row.api === api).map((row) => row.g));
    }

    const apis = APIS.map((api): ApiResult => {
      const mine = samples.filter((s) => s.api === api);
      const okTimes = mine
        .filter((s) => s.status >= 200 && s.status < 300)
        .map((s) => s.start)
        .sort((a, b) => a - b);
      const rate = perMinute(okTimes, spec.seconds);
      return {
        mode: spec.mode,
        api,
        seconds: spec.seconds,
        wallMs,
        tally: tallies[api],
        calls: mine.length,
        ok: okTimes.length,
        http429: mine.filter((s) => s.status === 429).length,
        otherStatus: mine.filter((s) => s.status !== 429 && (s.status < 200 || s.status >= 300)).length,
        okPerMinute: rate.value,
        extrapolated: rate.extrapolated,
        peak60s: peakInWindow(okTimes, 60_000),
        peak1s: peakInWindow(okTimes, 1_000),
        peakInFlight: recorder.peakInFlight[api],
        sim: sim[api],
        db: db[api] ?? null,
        grantToSend: mine.flatMap((x) => (x.granted === undefined ? [] : [x.start - x.granted])),
        grantToSendFirstSecond: mine.flatMap((x) =>
          x.granted === undefined || x.granted >= 1000 ? [] : [x.start - x.granted],
        ),
        first429s: mine
          .filter((x) => x.status === 429)
          .sort((x, y) => x.start - y.start)
          .slice(0, 3)
          .map((bad) => ({
            at: bad.start,
            okBefore: mine.filter(
              (x) => x.status >= 200 && x.status < 300 && x.start > bad.start - 1000 && x.start < bad.start,
            ).length,
          })),
      };
    });
    return { apis, sql };
  } finally {
    env.cancel.removeEventListener('abort', onCancel);
    stopper.abort(new PhaseOver('phase finished'));
    for (const governor of governors) await governor.close?.().catch(() => undefined);
    for (const pool of pools) await pool.end().catch(() => undefined);
  }
}

/** Sequential permits with limits lifted: the bare database cost of acquire and release, no waiting. */
async function uncontendedCost(
  pool: Pool,
  connectionId: string,
  n: number,
): Promise<{ qboAcquire: number[]; qboRelease: number[]; sm8Acquire: number[] }> {
  const huge = 1_000_000;
  const governor = new RateGovernor(pool, {
    safety: 1,
    limits: {
      qbo: { perSecond: huge, perMinute: huge, concurrent: huge },
      sm8: { perMinute: huge, perDay: huge },
    },
  });
  const out = { qboAcquire: [] as number[], qboRelease: [] as number[], sm8Acquire: [] as number[] };
  try {
    for (let i = 0; i < n; i += 1) {
      let t = performance.now();
      const permit = await governor.acquire(connectionId, 'qbo');
      out.qboAcquire.push(performance.now() - t);
      t = performance.now();
      await permit.release();
      out.qboRelease.push(performance.now() - t);
      t = performance.now();
      await governor.acquire(connectionId, 'sm8');
      out.sm8Acquire.push(performance.now() - t);
    }
  } finally {
    await governor.close();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Report

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(2)}%` : '-';
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

function resultRows(results: ApiResult[]): string[] {
  const header = [
    'mode',
    'api',
    'calls',
    'ok',
    '429',
    '429 share',
    'ok/min',
    'x limit',
    'peak 60 s',
    'peak 1 s',
    'peak in flight',
    'gov. timeouts',
    'wall s',
  ];
  const rows = results.map((r) => [
    r.mode,
    LABEL[r.api],
    String(r.calls),
    String(r.ok),
    String(r.http429),
    pct(r.http429, r.calls),
    `${fmt(r.okPerMinute)}${r.extrapolated ? '*' : ''}`,
    `${fmt(r.okPerMinute / PER_MINUTE[r.api], 3)}${r.extrapolated ? '*' : ''}`,
    `${r.peak60s}${r.seconds < 60 ? '*' : ''}`,
    r.api === 'qbo' ? `${r.peak1s} / ${QBO_PER_SECOND}` : String(r.peak1s),
    r.api === 'qbo' ? `${r.peakInFlight} / ${QBO_CONCURRENT}` : String(r.peakInFlight),
    String(r.tally.governorTimeouts),
    fmt(r.wallMs / 1000, 1),
  ]);
  return table(header, rows);
}

function crossCheckRows(results: ApiResult[]): string[] {
  const header = [
    'mode',
    'api',
    'HTTP calls',
    'sim calls',
    'DB permits',
    'DB peak 60 s',
    'DB peak 1 s',
    'HTTP 429',
    'sim 429',
    'caller 429',
    'caller ok',
    'other',
    'aborted',
  ];
  const rows = results.map((r) => [
    r.mode,
    LABEL[r.api],
    String(r.calls),
    String(r.sim.calls),
    r.db ? String(r.db.permits) : '-',
    r.db ? String(r.db.peak60s) : '-',
    r.db ? String(r.db.peak1s) : '-',
    String(r.http429),
    String(r.sim.rateLimited),
    String(r.tally.rateLimited429),
    String(r.tally.ok),
    String(r.tally.other + r.otherStatus),
    String(r.tally.aborted),
  ]);
  return table(header, rows);
}

function timingLine(label: string, values: number[]): string {
  return `${label} p50 ${fmt(percentile(values, 50), 2)} ms, p95 ${fmt(percentile(values, 95), 2)} ms (n=${values.length})`;
}

interface Check {
  ok: boolean | null;
  text: string;
}

function checks(results: ApiResult[]): Check[] {
  const out: Check[] = [];
  const governed = results.filter((r) => r.mode === 'governed');
  for (const r of governed) {
    const share = r.calls > 0 ? r.http429 / r.calls : 0;
    out.push({
      ok: share < MAX_429_SHARE,
      text: `governed ${LABEL[r.api]} 429 share ${pct(r.http429, r.calls)} < ${MAX_429_SHARE * 100}%`,
    });
  }
  for (const r of governed) {
    const fraction = r.okPerMinute / PER_MINUTE[r.api];
    out.push({
      ok: r.extrapolated ? null : fraction >= MIN_FRACTION_OF_LIMIT,
      text:
        `governed ${LABEL[r.api]} throughput ${fmt(r.okPerMinute)}/min = ${fmt(fraction, 3)} of ` +
        `${PER_MINUTE[r.api]}/min >= ${MIN_FRACTION_OF_LIMIT}` +
        (r.extrapolated ? ' (needs --seconds >= 60)' : ''),
    });
  }
  for (const r of governed) {
    out.push({
      ok: r.peak60s <= PER_MINUTE[r.api],
      text: `governed ${LABEL[r.api]} never over ${PER_MINUTE[r.api]} calls in any 60 s (peak ${r.peak60s})`,
    });
    if (r.api === 'qbo') {
      out.push({
        ok: r.peak1s <= QBO_PER_SECOND,
        text: `governed QBO never over ${QBO_PER_SECOND} calls in any 1 s (peak ${r.peak1s})`,
      });
      out.push({
        ok: r.peakInFlight <= QBO_CONCURRENT,
        text: `governed QBO never over ${QBO_CONCURRENT} calls in flight (peak ${r.peakInFlight})`,
      });
    }
    const other = r.tally.other + r.otherStatus;
    out.push({
      ok: other === 0,
      text: `governed ${LABEL[r.api]} no unexpected failures (${other}${r.tally.firstOther ? `, first: ${r.tally.firstOther}` : ''})`,
    });
  }
  for (const r of results) {
    const agree =
      r.sim.calls === r.calls &&
      r.sim.rateLimited === r.http429 &&
      r.tally.rateLimited429 === r.http429 &&
      (r.db === null || r.db.permits === r.calls);
    out.push({
      ok: agree,
      text: `${r.mode} ${LABEL[r.api]} counts agree (HTTP, simulator${r.db === null ? '' : ', DB permits'}, callers)`,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Main

async function createConnection(
  store: ConnectionStore,
  qbo: RunningQuickBooksSimulator,
  connectionId: string,
  realmId: string,
): Promise<void> {
  await store.ensure(connectionId, `benchmark ${connectionId}`);
  const issued = qbo.control.issueTokens(realmId);
  const token: QboToken = {
    access_token: issued.access_token,
    refresh_token: issued.refresh_token,
    token_type: 'bearer',
    expires_in: 3600, // the simulator's default access-token lifetime
    x_refresh_token_expires_in: 8_726_400,
    createdAt: Date.now(),
  };
  await store.saveQboTokens(connectionId, issued.realmId, token);
  await store.saveSm8Credentials(connectionId, { kind: 'api_key', apiKey: DEFAULT_API_KEY });
}

export async function runGovernorBench(argv: string[] = process.argv.slice(2)): Promise<number> {
  // Issue 12: interactive permit waits under bulk load, lanes on vs the FIFO baseline (bench/governor-lanes.ts).
  if (argv.includes('--lanes')) return runLanesBench(argv.filter((a) => a !== '--lanes'));
  if (argv.includes('--help') || argv.includes('-h')) {
    log(
      `usage: npx tsx bench/governor.ts ${Object.keys(FLAGS)
        .map((f) => `[${f} N]`)
        .join(' ')}`,
    );
    log(`defaults: ${JSON.stringify(DEFAULT_OPTIONS)}`);
    return 0;
  }
  let opts: BenchOptions;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    log(String((err as Error).message));
    return 2;
  }
  const cancel = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: stopping and cleaning up (Ctrl-C again to quit at once)');
    cancel.abort(new PhaseOver('interrupted'));
  };
  process.on('SIGINT', onSigint);
  // Bounded: whatever happens, give up (and still clean up) well after the planned end.
  const budgetMs = (opts.seconds + opts.baselineSeconds + 300) * 1000;
  const budget = setTimeout(() => {
    log(`time budget of ${budgetMs / 1000} s exceeded: stopping`);
    cancel.abort(new PhaseOver('time budget exceeded'));
  }, budgetMs);
  budget.unref();

  const cleanups: Array<[string, () => Promise<unknown>]> = [];
  let exitCode = 2;
  try {
    const date = new Date().toISOString();
    log(`Rate governor benchmark, ${date}`);
    log(`  node ${process.version}, command: npx tsx bench/governor.ts ${argv.join(' ')}`.trimEnd());

    // A fresh database on whatever server the product would use; dropped at the end.
    const base = await resolveDatabase(loadConfig(process.env), (line) => log(`  ${line}`));
    cleanups.push(['database server', () => base.stop()]);
    const url = new URL(base.url);
    url.pathname = `/sm8qbo_bench_${Date.now()}_${process.pid}`;
    const databaseUrl = url.toString();
    await ensureDatabaseExists(databaseUrl);
    cleanups.push(['database', () => dropDatabase(databaseUrl)]);
    const admin = createPool(databaseUrl, 2);
    cleanups.push(['admin pool', () => admin.end()]);
    await migrate(admin);
    const pgVersion =
      (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?';
    log(`  PostgreSQL ${pgVersion} (${base.source}), database ${url.pathname.slice(1)}`);

    const qbo = await startQuickBooksSimulator({});
    cleanups.push(['QBO simulator', () => qbo.stop()]);
    const sm8 = await startServiceM8Simulator({});
    cleanups.push(['SM8 simulator', () => sm8.stop()]);
    // The first matching rule applies: the slow share first, every other call gets the base latency.
    if (opts.qboSlowShare > 0 && opts.qboSlowMs > 0)
      qbo.control.addFault({ path: '^/v3/company/', latencyMs: opts.qboSlowMs, rate: opts.qboSlowShare });
    if (opts.qboLatencyMs > 0) qbo.control.addFault({ path: '^/v3/company/', latencyMs: opts.qboLatencyMs });

    const config = loadConfig({
      DATABASE_URL: databaseUrl,
      ENCRYPTION_KEYS: `bench:${crypto.randomBytes(32).toString('base64')}`,
      ...simulatorProductEnv(sm8, qbo),
    });
    const store = new ConnectionStore(admin, SecretBox.fromConfig(config));
    const governedRealm = qbo.realmId;
    const baselineRealm = qbo.control.createRealm({ companyName: 'Benchmark baseline' });
    await createConnection(store, qbo, 'bench-governed', governedRealm);
    await createConnection(store, qbo, 'bench-ungoverned', baselineRealm);
    await store.ensure('bench-cost', 'benchmark: bare permit cost');

    const recorder = new HttpRecorder((c) => {
      const baseURL = c.baseURL ?? '';
      if (baseURL.startsWith(`${qbo.url}/v3/company/`)) return 'qbo';
      if (baseURL === sm8.url && (c.url ?? '').startsWith('/api_1.0/')) return 'sm8';
      return null;
    });
    recorder.install();
    cleanups.push(['axios interceptors', async () => recorder.uninstall()]);

    const env: Env = { config, databaseUrl, qbo, sm8, recorder, admin, cancel: cancel.signal, opts };
    const per = (n: number) => `${WORKERS} workers x ${n}`;
    log(
      `  load: ${per(opts.qboCallers)} QBO callers (getCompanyInfo/query), ${per(opts.sm8Callers)} SM8 callers ` +
        `(vendor list/read), flat out; injected latency QBO ${opts.qboLatencyMs} ms ` +
        `(${Math.round(opts.qboSlowShare * 100)}% of calls ${opts.qboSlowMs} ms), SM8 ${opts.sm8LatencyMs} ms`,
    );
    log(
      `  governed ${opts.seconds} s on one connection, then ungoverned ${opts.baselineSeconds} s on a fresh one`,
    );
    if (opts.governorSecondMs !== 1000) {
      log(
        `  EXPERIMENT: governed workers judge the per-second window over ${opts.governorSecondMs} ms ` +
          '(new RateGovernor with windowsMs.second), not the product governor of createGovernor',
      );
    }

    log(`running governed phase (${opts.seconds} s)...`);
    const governed = await runPhase(env, {
      mode: 'governed',
      connectionId: 'bench-governed',
      realmId: governedRealm,
      seconds: opts.seconds,
    });
    log(`running ungoverned phase (${opts.baselineSeconds} s)...`);
    const baseline = await runPhase(env, {
      mode: 'ungoverned',
      connectionId: 'bench-ungoverned',
      realmId: baselineRealm,
      seconds: opts.baselineSeconds,
    });
    log('measuring the bare cost of a permit (500 sequential permits)...');
    const cost = await uncontendedCost(admin, 'bench-cost', 500);

    const results = [...governed.apis, ...baseline.apis];
    log('');
    log('Results (ok = 2xx answers; rates from the send times of ok calls)');
    for (const line of resultRows(results)) log(`  ${line}`);
    log(
      '  ok/min: mean of the ok calls in every whole 60 s window of the run; x limit = ok/min / 500 (QBO),',
    );
    log('  / 180 (SM8). * = run shorter than 60 s: ok/min is extrapolated (ok x 60 / seconds) and peak 60 s');
    log(
      '  is just the run total. peak 1 s counts ok calls; peak in flight counts every request (HTTP layer).',
    );
    log(
      '  gov. timeouts: the governor gave up (only with a maxWaitMs: the product governor waits as long as it takes).',
    );
    log('');
    log('Cross-check (the simulators count every request they answered, 429s included)');
    for (const line of crossCheckRows(results)) log(`  ${line}`);
    log('');
    log('PostgreSQL cost per permit');
    const sql = governed.sql;
    const attempts = sql.granted > 0 ? (sql.granted + sql.refused) / sql.granted : Number.NaN;
    log(
      `  ${timingLine('governed run, acquire round trip', sql.acquire)}; ${fmt(attempts, 2)} round trips per permit`,
    );
    log(`  ${timingLine('governed run, release (QBO)     ', sql.release)}`);
    log(`  ${timingLine('uncontended, QBO acquire        ', cost.qboAcquire)}`);
    log(`  ${timingLine('uncontended, QBO release        ', cost.qboRelease)}`);
    log(`  ${timingLine('uncontended, SM8 acquire        ', cost.sm8Acquire)}`);
    log('');
    log('Grant-to-send delay (permit granted -> request sent: token read, event loop), governed phase');
    for (const r of governed.apis) {
      const max = (values: number[]) => (values.length ? Math.max(...values) : Number.NaN);
      log(
        `  ${LABEL[r.api]}: ${timingLine('all', r.grantToSend)}, max ${fmt(max(r.grantToSend), 1)} ms; ` +
          `granted in the first second: max ${fmt(max(r.grantToSendFirstSecond), 1)} ms`,
      );
      for (const bad of r.first429s) {
        log(
          `  ${LABEL[r.api]} 429 sent at t=${fmt(bad.at / 1000, 3)} s, ${bad.okBefore} ok calls sent in the second before it`,
        );
      }
    }
    log('');
    const verdicts = checks(results);
    for (const c of verdicts) log(`${c.ok === null ? 'SKIP' : c.ok ? 'PASS' : 'FAIL'}  ${c.text}`);
    exitCode = verdicts.some((c) => c.ok === false) ? 1 : 0;
    log(exitCode === 0 ? 'all targets met' : 'some targets missed');
  } catch (err) {
    if (cancel.signal.aborted) {
      log(`stopped: ${String((cancel.signal.reason as Error | undefined)?.message ?? 'cancelled')}`);
      exitCode = interrupted ? 130 : 2;
    } else {
      log(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      exitCode = 2;
    }
  } finally {
    for (const [name, cleanup] of cleanups.reverse()) {
      await cleanup().catch((e: unknown) => log(`cleanup of ${name} failed: ${String(e)}`));
    }
    clearTimeout(budget);
    process.off('SIGINT', onSigint);
  }
  return exitCode;
}

if (require.main === module) {
  void runGovernorBench().then((code) => process.exit(code));
}
