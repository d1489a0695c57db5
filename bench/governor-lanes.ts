/**
 * `npx tsx bench/governor.ts --lanes [--seconds 40] [--scale 10] [--workers 2] [--bulk-callers 20]
 *   [--interactive-every-ms 5000] [--call-ms 300]`: how long interactive work waits for a ServiceM8 permit
 * while bulk work (an onboarding) keeps the budget full, with priority lanes and without (issue 12).
 *
 * Two "worker processes" (own pool, own RateGovernor) share one connection. In each, --bulk-callers bulk
 * callers take permits flat out (acquire, then a call of --call-ms), and one person asks for interactive work
 * at random intervals around --interactive-every-ms (acquire, call). Phase 1, lanes on: bulk callers take
 * permits in the bulk lane, the person in the interactive lane. Phase 2, the FIFO baseline: the same load
 * with every caller in one lane, which is what the governor did before lanes (one FIFO queue per process,
 * the whole budget for everyone). Each phase runs on a fresh connection of a fresh database.
 *
 * ServiceM8's limits are the real ones (180/min, safety 0.95 = 171) on a clock sped up by --scale: the minute
 * window is 60 s / scale and the call latency --call-ms / scale, so a phase of --seconds covers
 * seconds × scale of real time. Waits are printed in real milliseconds (measured × scale).
 */
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import { RateGovernor } from '../apis/governor/rate-governor';
import type { Lane } from '../domain/lanes';
import { loadConfig } from '../infra/config';
import { createPool, dropDatabase, ensureDatabaseExists, resolveDatabase } from '../infra/database';
import { migrate } from '../infra/migrate';

interface LanesOptions {
  seconds: number;
  scale: number;
  workers: number;
  bulkCallers: number;
  interactiveEveryMs: number;
  callMs: number;
}

const DEFAULTS: LanesOptions = {
  seconds: 40,
  scale: 10,
  workers: 2,
  bulkCallers: 20,
  interactiveEveryMs: 5000,
  callMs: 300,
};

const FLAGS: Record<string, keyof LanesOptions> = {
  '--seconds': 'seconds',
  '--scale': 'scale',
  '--workers': 'workers',
  '--bulk-callers': 'bulkCallers',
  '--interactive-every-ms': 'interactiveEveryMs',
  '--call-ms': 'callMs',
};

const log = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function parse(argv: string[]): LanesOptions {
  const opts = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i] ?? '';
    const key = FLAGS[flag];
    if (!key) throw new Error(`unknown option ${flag} (options: ${Object.keys(FLAGS).join(', ')})`);
    const value = Number(argv[(i += 1)]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} needs a positive number`);
    opts[key] = value;
  }
  return opts;
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

interface PhaseResult {
  name: string;
  /** Measured ms (sorted): a wait for a window scales with the clock, a database round trip does not. */
  interactiveWaits: number[];
  /** Bulk permits granted after the first window, and the seconds they were granted in. */
  bulkPermits: number;
  seconds: number;
  /** Smallest time between a permit and the 171st after it (>= the window: never over the limit). */
  tightestMinuteMs: number;
}

async function phase(
  databaseUrl: string,
  admin: Pool,
  opts: LanesOptions,
  name: string,
  lanes: boolean,
): Promise<PhaseResult> {
  const connectionId = `lanes-${lanes ? 'on' : 'fifo'}-${Date.now()}`;
  await admin.query('INSERT INTO connections (id, name) VALUES ($1, $1)', [connectionId]);
  const windowsMs = { minute: 60_000 / opts.scale, second: 1_100 / opts.scale, day: 86_400_000 / opts.scale };
  const callMs = opts.callMs / opts.scale;
  const pools: Pool[] = [];
  const governors: RateGovernor[] = [];
  for (let i = 0; i < opts.workers; i += 1) {
    const pool = createPool(databaseUrl, 6);
    pools.push(pool);
    governors.push(new RateGovernor(pool, { windowsMs }));
  }
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // every caller listens to it
  const bulkLane: Lane = lanes ? 'bulk' : 'interactive';
  const bulkAt: number[] = [];
  const waits: number[] = [];
  const bulk = async (g: RateGovernor) => {
    while (!stop.signal.aborted) {
      try {
        await g.acquire(connectionId, 'sm8', { lane: bulkLane, signal: stop.signal });
      } catch {
        return;
      }
      bulkAt.push(performance.now());
      await sleep(callMs);
    }
  };
  const person = async (g: RateGovernor) => {
    while (!stop.signal.aborted) {
      await sleep((opts.interactiveEveryMs / opts.scale) * (0.5 + Math.random()));
      if (stop.signal.aborted) return;
      const asked = performance.now();
      try {
        await g.acquire(connectionId, 'sm8', { lane: 'interactive', signal: stop.signal });
      } catch {
        return;
      }
      waits.push(performance.now() - asked);
      await sleep(callMs);
    }
  };
  const started = performance.now();
  const running = governors.flatMap((g) => [
    ...Array.from({ length: opts.bulkCallers }, () => bulk(g)),
    person(g),
  ]);
  await sleep(opts.seconds * 1000);
  stop.abort(new Error('phase over'));
  await Promise.all(running);
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(governors.map((g) => g.close()));
  await Promise.all(pools.map((p) => p.end()));
  const { rows } = await admin.query<{ ms: number }>(
    `SELECT (extract(epoch FROM granted_at) * 1000)::float8 AS ms FROM rate_permits
      WHERE connection_id = $1 AND api = 'sm8' ORDER BY seq`,
    [connectionId],
  );
  let tightest = Infinity;
  for (let i = 0; i + 171 < rows.length; i += 1)
    tightest = Math.min(tightest, (rows[i + 171]?.ms ?? 0) - (rows[i]?.ms ?? 0));
  // Steady state: whole windows after the first (which starts empty and lets a minute's budget through at once).
  const steadyFrom = started + windowsMs.minute;
  const windows = Math.floor((started + seconds * 1000 - steadyFrom) / windowsMs.minute);
  const steadyTo = steadyFrom + windows * windowsMs.minute;
  return {
    name,
    interactiveWaits: waits.sort((a, b) => a - b),
    bulkPermits: bulkAt.filter((t) => t >= steadyFrom && t < steadyTo).length,
    seconds: (windows * windowsMs.minute) / 1000,
    tightestMinuteMs: tightest * opts.scale,
  };
}

/** Runs both phases and prints the interactive waits side by side. 0 = lanes cut p95 at least tenfold. */
export async function runLanesBench(argv: string[]): Promise<number> {
  let opts: LanesOptions;
  try {
    opts = parse(argv);
  } catch (err) {
    log((err as Error).message);
    return 2;
  }
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    log(`Governor lanes benchmark, ${new Date().toISOString()}`);
    log(`  node ${process.version}, command: npx tsx bench/governor.ts --lanes ${argv.join(' ')}`.trimEnd());
    const base = await resolveDatabase(loadConfig(process.env), (line) => log(`  ${line}`));
    cleanups.push(() => base.stop());
    const url = new URL(base.url);
    url.pathname = `/sm8qbo_bench_lanes_${Date.now()}_${process.pid}`;
    const databaseUrl = url.toString();
    await ensureDatabaseExists(databaseUrl);
    cleanups.push(() => dropDatabase(databaseUrl));
    const admin = createPool(databaseUrl, 2);
    cleanups.push(() => admin.end());
    await migrate(admin);
    log(
      `  load: ${opts.workers} workers x (${opts.bulkCallers} bulk callers flat out + 1 person asking every ` +
        `~${opts.interactiveEveryMs} ms), ServiceM8 calls of ${opts.callMs} ms, limits 171/min; clock x${opts.scale} ` +
        `(a ${opts.seconds} s phase = ${Math.round((opts.seconds * opts.scale) / 60)} min of real time)`,
    );
    log(`running lanes on (${opts.seconds} s)...`);
    const on = await phase(databaseUrl, admin, opts, 'lanes on', true);
    log(`running FIFO baseline (${opts.seconds} s)...`);
    const fifo = await phase(databaseUrl, admin, opts, 'FIFO (no lanes)', false);

    log('');
    log(
      'Interactive permit wait with bulk load present, ms as measured (the clock runs x' + `${opts.scale})`,
    );
    const row = (r: PhaseResult) => {
      const w = r.interactiveWaits;
      const perMin = (r.bulkPermits / (r.seconds * opts.scale)) * 60;
      const ms = (v: number) => v.toFixed(1).padStart(8);
      return (
        `  ${r.name.padEnd(16)} n=${String(w.length).padStart(4)}  p50 ${ms(quantile(w, 0.5))}  ` +
        `p95 ${ms(quantile(w, 0.95))}  max ${ms(w.at(-1) ?? Number.NaN)}  ` +
        `bulk ${perMin.toFixed(0)}/min real (${((perMin / 171) * 100).toFixed(0)} % of 171)  ` +
        `tightest 171 permits: ${(r.tightestMinuteMs / 1000).toFixed(1)} s real`
      );
    };
    log(row(on));
    log(row(fifo));
    const ratio = (q: number) => quantile(fifo.interactiveWaits, q) / quantile(on.interactiveWaits, q);
    log(`  FIFO / lanes:    p50 x${ratio(0.5).toFixed(0)}, p95 x${ratio(0.95).toFixed(0)}`);
    log(
      `  In real time (x${opts.scale}) a FIFO wait of p50 ${((quantile(fifo.interactiveWaits, 0.5) * opts.scale) / 1000).toFixed(0)} s ` +
        `and p95 ${((quantile(fifo.interactiveWaits, 0.95) * opts.scale) / 1000).toFixed(0)} s: the bulk callers queued ahead ` +
        'each wait for a slot of the window; with lanes the interactive call waits for one database round trip.',
    );
    const withinLimit = on.tightestMinuteMs >= 60_000 - 1 && fifo.tightestMinuteMs >= 60_000 - 1;
    log(
      `${withinLimit ? 'PASS' : 'FAIL'}  no 60 s (scaled) window held more than 171 permits in either phase`,
    );
    const faster = ratio(0.95) >= 10;
    log(`${faster ? 'PASS' : 'FAIL'}  lanes cut the interactive p95 wait at least tenfold`);
    return withinLimit && faster ? 0 : 1;
  } catch (err) {
    log(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 2;
  } finally {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((e: unknown) => log(`cleanup: ${String(e)}`));
  }
}
