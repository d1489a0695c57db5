/**
 * API budget benchmark (issue 12 item 8; docs/benchmarks.md "API budget"): what the product spends of
 * ServiceM8's and QuickBooks' budgets per piece of work, and what approvals wait, on the product exactly as
 * `npm start` runs it (bench/harness.ts). People act only through the simulators' control APIs, so every call
 * in the simulators' counters is the product's own.
 *
 *   npm run bench:budget [-- --quick] [--scale N] [--customers 500 --items 500] [--month-end 200]
 *
 * Default: a QuickBooks company of 500 customers + 500 items to onboard, at the real limits (ServiceM8
 * 180/min and 20,000/day; QuickBooks 500/min, 10/s, 10 at once). `--quick`: the demo world as seeded (46
 * customers + 75 items), 30 invoices at month end, shorter samples. `--scale N` raises the simulators'
 * limits and the product's governor (GOVERNOR_LIMIT_SCALE) by N. Exit code 0 always.
 */
import type { AxiosInstance } from 'axios';
import {
  until,
  delta,
  onboardingDone,
  readCounters,
  startProduct,
  sleep,
  topEndpoints,
  untilQuiet,
  untilSettled,
  type Reading,
} from './harness';
import { openHistories, estimateActions, splitTime, s, type TimeSplit } from './budget-history';
import { figureRows, table, type Figures } from './budget-report';
import * as w from './budget-world';
import { laneMinuteLimit, scaledLimits } from '../apis/governor/policy';
import { DEFAULT_REGULAR_POLL_MS } from '../domain/poll-cadence';

function opt(argv: string[], name: string, fallback: number): number {
  const at = argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} takes a number ≥ 0`);
  return value;
}

const note = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

export async function runBudgetBench(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const scale = Math.max(1, opt(argv, 'scale', 1));
  const n = {
    customers: opt(argv, 'customers', quick ? 0 : 500),
    items: opt(argv, 'items', quick ? 0 : 500),
    during: quick ? 5 : 10,
    spacingMs: quick ? 10_000 : 20_000,
    settled: quick ? 5 : 10,
    batch: 20,
    changes: quick ? 2 : 5,
    monthEnd: opt(argv, 'month-end', quick ? 30 : 200),
    // One whole regular poll interval (domain/poll-cadence.ts): the idle day then holds its passes exactly.
    idleMs: quick ? 90_000 : DEFAULT_REGULAR_POLL_MS,
  };
  const began = performance.now();
  let c0: Reading | undefined;
  let grown = { customers: 0, items: 0, added: 0 };
  const product = await startProduct(
    'budget',
    async ({ sm8, qbo }) => {
      await w.scaleSimulators(sm8, qbo, scale);
      grown = await w.growQuickBooks(qbo, n.customers, n.items);
      c0 = await readCounters(sm8, qbo);
    },
    { GOVERNOR_LIMIT_SCALE: String(scale) },
  );
  const { api, sm8, qbo } = product;
  const histories = await openHistories(`127.0.0.1:${product.ports.temporal}`);
  const tracker = w.trackInvoices(qbo);
  const f: Figures = { size: '', during: [], settled: [] };
  const out: string[] = [];
  const print = (line: string) => {
    out.push(line);
    note(line);
  };
  const baseline = { sm8: 0, qbo: 0 };
  /**
   * Calls between two readings, less the background: the poll passes' own calls that fell in the stretch (the
   * product counts them, by workflow), and the rest of the idle background as a rate (none measured so far).
   */
  const spent = (a: Reading, b: Reading) => {
    const d = delta(a, b);
    return {
      ...d,
      sm8: d.sm8 - d.pollSm8 - baseline.sm8 * d.seconds,
      qbo: d.qbo - d.pollQbo - baseline.qbo * d.seconds,
      raw: `raw SM8 ${d.sm8}, QBO ${d.qbo} in ${d.seconds.toFixed(1)} s${d.pollSm8 + d.pollQbo ? `, of them a poll pass's SM8 ${d.pollSm8}, QBO ${d.pollQbo}` : ''}`,
    };
  };
  try {
    f.size = `${grown.customers} customers + ${grown.items} items in QuickBooks (${grown.added} added to the demo world)`;
    print(`size: ${f.size}; limits x${scale}; startup to "ready" ${s(product.startupMs)}`);
    if (scale !== 1)
      print(
        `note: the simulators' and the governor's limits (GOVERNOR_LIMIT_SCALE) are both x${scale}: per-minute and per-day figures are ${scale} times the real ones`,
      );

    // 1. Approvals made while onboarding runs, of jobs made for it (the demo world's own completed jobs
    // include one held on purpose, TOTAL_MISMATCH, which would never arrive).
    const pre = await w.readWorld(sm8, qbo, true);
    const duringJobs: string[] = [];
    for (let i = 0; i < n.during; i += 1) duringJobs.push(await w.createJob(sm8, pre, i));
    const approvals: Array<{ job: string; t0: number; running: boolean }> = [];
    let onboardingRunning = true;
    const onboarded = onboardingDone(api, 3_600_000).then((r) => {
      onboardingRunning = false;
      return r;
    });
    for (const job of duringJobs) {
      const running = onboardingRunning;
      const t0 = await w.approve(sm8, job);
      approvals.push({ job, t0, running });
      await sleep(n.spacingMs);
    }
    const ob = await onboarded;
    print(`  permit waits until onboarding ended: ${await permitWaits(api)}`);
    print(`  name-turn waits until onboarding ended: ${await turnWaits(api)}`);
    const c1 = await readCounters(sm8, qbo, api);
    const d = delta(c0 as Reading, c1);
    // The calls about jobs are the invoices exported meanwhile (the world's own approved jobs at connect, the
    // approvals above), not onboarding's: counted apart so the import's own ratio shows too.
    const jobish = Object.entries(d.sm8ByEndpoint).filter(([k]) =>
      /\/api_1\.0\/(job|jobmaterial|jobpayment|jobactivity|note|attachment)[/.]/.test(k),
    );
    const sm8Jobs = {
      calls: jobish.reduce((n, [, v]) => n + v, 0),
      writes: jobish.filter(([k]) => /^(POST|PUT|DELETE) /.test(k)).reduce((n, [, v]) => n + v, 0),
    };
    f.onboarding = {
      records: ob.imported,
      ms: ob.ms,
      sm8: d.sm8,
      qbo: d.qbo,
      sm8Writes: d.sm8Writes,
      sm8Jobs,
      // The bulk lane's ServiceM8 calls a minute at these limits: onboarding cannot write faster.
      writeBound: laneMinuteLimit('sm8', 'bulk', scaledLimits(scale)) ?? 0,
    };
    print(
      `onboarding: ${ob.imported} records in ${s(ob.ms)}; SM8 ${d.sm8} calls (${d.sm8Writes} writes; ${topEndpoints(d.sm8ByEndpoint, 12)}); QBO ${d.qbo} calls (${topEndpoints(d.qboByEndpoint, 3)}); includes the ${n.during} approvals made meanwhile`,
    );
    const duringArrived = await tracker.wait(duringJobs, quick ? 600_000 : 900_000);
    const during = approvals.map((a) => ({ ...a, t1: duringArrived.get(a.job) }));
    const splits: TimeSplit[] = [];
    for (const a of during) {
      const t1 = a.t1 ?? Date.now();
      f.during.push({ ms: t1 - a.t0, censored: a.t1 === undefined });
      const split = splitTime(await histories.of(`invoice/demo/${a.job}`), a.t0, t1);
      splits.push(split);
      print(
        `  during onboarding${a.running ? '' : ' (approved after it finished)'}: ${a.t1 ? '' : '>'}${s(split.totalMs)} = intake ${s(split.intakeMs)} + queued ${s(split.queuedMs)} + in activities ${s(split.runningMs)} + workflow/other ${s(split.otherMs)}; ${split.retries} retries; ${split.top.join('; ')}`,
      );
    }
    const sum = (k: keyof TimeSplit) => splits.reduce((x, sp) => x + (sp[k] as number), 0);
    const total = Math.max(1, sum('totalMs'));
    const pct = (k: keyof TimeSplit) => `${Math.round((100 * sum(k)) / total)} %`;
    print(
      `  where the time went (all ${splits.length}): intake ${pct('intakeMs')}, queued for a worker slot or retry ${pct('queuedMs')}, inside activities (permit waits + calls) ${pct('runningMs')}, workflow/other ${pct('otherMs')}; ${sum('retries')} activity retries`,
    );
    const settledAfter = await untilSettled(sm8, qbo, 3_600_000);
    const c2 = await readCounters(sm8, qbo, api);
    const tail = delta(c1, c2);
    print(
      `settled ${s(settledAfter)} after onboarding finished; the tail spent SM8 ${tail.sm8}, QBO ${tail.qbo} calls (${topEndpoints(tail.sm8ByEndpoint, 3)})`,
    );

    // 2. Idle: a settled window, scaled to a day.
    const i0 = await readCounters(sm8, qbo, api);
    await sleep(n.idleMs);
    const i1 = await readCounters(sm8, qbo, api);
    const idle = delta(i0, i1);
    // The poll passes' calls are subtracted where they fall (spent above); the idle day counts them all.
    baseline.sm8 = (idle.sm8 - idle.pollSm8) / idle.seconds;
    baseline.qbo = (idle.qbo - idle.pollQbo) / idle.seconds;
    f.idlePerDay = (idle.sm8 / idle.seconds) * 86_400;
    // Onboarding until settled: its echoes, less the background of the tail's stretch.
    const whole = delta(c0 as Reading, c2);
    f.onboarding.withTail = {
      sm8: whole.sm8 - baseline.sm8 * tail.seconds,
      qbo: whole.qbo - baseline.qbo * tail.seconds,
      sm8Writes: whole.sm8Writes,
    };
    print(
      `idle: SM8 ${idle.sm8}, QBO ${idle.qbo} calls in ${s(idle.seconds * 1000)}, of them the poll passes' SM8 ${idle.pollSm8}, QBO ${idle.pollQbo} (${topEndpoints(idle.sm8ByEndpoint, 3)}) → SM8 ${Math.round(f.idlePerDay)} a day; below, a poll pass's calls are subtracted where they fall, and the rest as background`,
    );
    if (baseline.sm8 * 60 > 90)
      print(
        "WARNING: over half of ServiceM8's 180/min in the idle window: it was not idle; the subtracted figures are not trustworthy",
      );

    // 3. The month's jobs: created (their owners wake on the webhooks), then quiet.
    const world = await w.readWorld(sm8, qbo);
    const jobs: string[] = [];
    const createdAt = performance.now();
    for (let i = 0; i < n.settled + n.batch + n.monthEnd; i += 1) jobs.push(await w.createJob(sm8, world, i));
    // Every new job's first look done (each has a NOT_APPROVED state), then quiet: what follows counts only
    // what it is about (a quiet stretch alone was found mid-way once, and the rest spilled into the batch).
    const looked = await until(
      'a first look at every new job',
      createdAt,
      900_000,
      async () => {
        const rows = (
          await api.get<Array<{ job_uuid: string }>>('/admin/invoices', {
            params: { connection: 'demo', state: 'NOT_APPROVED', limit: 1000 },
          })
        ).data;
        const seen = new Set(rows.map((r) => r.job_uuid));
        return jobs.every((j) => seen.has(j)) || null;
      },
      1000,
    );
    print(`  every new job looked at ${s(looked.ms)} after the first was made`);
    const made = await untilQuiet(sm8, qbo, 8000, 900_000, api);
    const created = spent(i1, made.reading);
    print(
      `created ${jobs.length} jobs: SM8 ${(created.sm8 / jobs.length).toFixed(2)}, QBO ${(created.qbo / jobs.length).toFixed(2)} calls per created job`,
    );
    const settledJobs = jobs.slice(0, n.settled);
    const batchJobs = jobs.slice(n.settled, n.settled + n.batch);
    const monthJobs = jobs.slice(n.settled + n.batch);

    // 4. Approvals once settled, one at a time.
    for (const job of settledJobs) {
      const t0 = await w.approve(sm8, job);
      const t1 = (await tracker.wait([job], quick ? 120_000 : 300_000)).get(job);
      f.settled.push({ ms: (t1 ?? Date.now()) - t0, censored: t1 === undefined });
      const split = splitTime(await histories.of(`invoice/demo/${job}`), t0, t1 ?? Date.now());
      print(
        `  once settled: ${t1 ? '' : '>'}${s(split.totalMs)} = intake ${s(split.intakeMs)} + queued ${s(split.queuedMs)} + in activities ${s(split.runningMs)} + workflow/other ${s(split.otherMs)}; ${split.retries} retries; ${split.top.join('; ')}`,
      );
      await untilQuiet(sm8, qbo, 6000, 120_000, api);
    }

    // 5. A batch of 20 approvals, counted until the calls go quiet (echoes included).
    const b0 = await readCounters(sm8, qbo, api);
    const seq0 = await lastCallSeq(sm8);
    await Promise.all(batchJobs.map((job) => w.approve(sm8, job)));
    const arrived = await tracker.wait(batchJobs, quick ? 300_000 : 900_000);
    const b1 = (await untilQuiet(sm8, qbo, 8000, 300_000, api)).reading;
    const batch = spent(b0, b1);
    f.perInvoice = {
      sm8: batch.sm8 / Math.max(1, arrived.size),
      qbo: batch.qbo / Math.max(1, arrived.size),
      n: arrived.size,
    };
    print(
      `batch of ${n.batch}: ${arrived.size} exported; SM8 (${topEndpoints(batch.sm8ByEndpoint)}); QBO (${topEndpoints(batch.qboByEndpoint)}); ${batch.raw}`,
    );
    print(`  ${await jobReadsSince(sm8, seq0, batchJobs)}`);

    // 6. Payments both ways, on the batch's invoices; the first job's lifecycle is then read from Temporal.
    const invoices = await w.invoicesByJob(qbo);
    const measure = async (what: string, act: () => Promise<unknown>) => {
      const r0 = await readCounters(sm8, qbo, api);
      await act();
      const r1 = (await untilQuiet(sm8, qbo, 12_000, 180_000, api)).reading;
      const c = spent(r0, r1);
      print(
        `  ${what}: SM8 ${c.sm8.toFixed(1)} (${topEndpoints(c.sm8ByEndpoint, 4)}), QBO ${c.qbo.toFixed(1)} (${topEndpoints(c.qboByEndpoint, 4)}); ${c.raw}`,
      );
      return c;
    };
    const avg = (xs: Array<{ sm8: number; qbo: number }>) => ({
      sm8: xs.reduce((x, c) => x + c.sm8, 0) / xs.length,
      qbo: xs.reduce((x, c) => x + c.qbo, 0) / xs.length,
      n: xs.length,
    });
    const pay1: Array<{ sm8: number; qbo: number }> = [];
    const pay2: Array<{ sm8: number; qbo: number }> = [];
    const lifecycleIds: string[] = [];
    for (const job of batchJobs.slice(0, n.changes)) {
      const inv = invoices.get(job);
      if (!inv) continue;
      let sm8Pay = '';
      let qboPay = '';
      pay1.push(
        await measure(
          'payment SM8 → QBO',
          // 40 % of the invoice in ServiceM8, then 30 % in QuickBooks: within its balance whatever its total.
          async () => (sm8Pay = (await w.paySm8(sm8, qbo, job, 300_000, w.partOf(inv, 0.4))).id),
        ),
      );
      pay2.push(
        await measure(
          'payment QBO → SM8',
          async () => (qboPay = (await w.payQbo(sm8, qbo, inv, job, 300_000, w.partOf(inv, 0.3))).id),
        ),
      );
      if (lifecycleIds.length === 0)
        lifecycleIds.push(
          `invoice/demo/${job}`,
          `payments/demo/${job}`,
          `payment-route/demo/sm8/${sm8Pay}`,
          `payment-route/demo/qbo/${qboPay}`,
        );
    }
    if (pay1.length) f.paySm8ToQbo = avg(pay1);
    if (pay2.length) f.payQboToSm8 = avg(pay2);
    let events = 0;
    let actions = 0;
    const parts: Record<string, number> = {};
    for (const id of lifecycleIds) {
      const runs = await histories.of(id);
      if (runs.length === 0) continue;
      const e = estimateActions(runs);
      events += e.events;
      actions += e.actions;
      for (const [k, v] of Object.entries(e.parts)) parts[k] = (parts[k] ?? 0) + v;
      print(
        `  lifecycle ${id.split('/').slice(0, 3).join('/')}: ${runs.length} run(s), ${e.events} events, ~${e.actions} actions`,
      );
    }
    if (lifecycleIds.length) {
      f.lifecycle = { events, actions };
      print(
        `  lifecycle actions by kind: ${Object.entries(parts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    }

    // 7. Client changes both ways, on onboarded clients.
    const spare = world.pairs.slice(-2 * n.changes);
    const ch1: Array<{ sm8: number; qbo: number }> = [];
    const ch2: Array<{ sm8: number; qbo: number }> = [];
    for (let i = 0; i < n.changes && 2 * i + 1 < spare.length; i += 1) {
      ch1.push(
        await measure('client change QBO → SM8', () =>
          w.renameInQbo(sm8, qbo, spare[2 * i] as w.Pair, 300_000),
        ),
      );
      ch2.push(
        await measure('client change SM8 → QBO', () =>
          w.renameInSm8(sm8, qbo, spare[2 * i + 1] as w.Pair, 300_000),
        ),
      );
    }
    if (ch1.length) f.clientQboToSm8 = avg(ch1);
    if (ch2.length) f.clientSm8ToQbo = avg(ch2);

    // 8. Month end: every remaining job approved at once.
    if (monthJobs.length) {
      const m0 = Date.now();
      for (let i = 0; i < monthJobs.length; i += 20)
        await Promise.all(monthJobs.slice(i, i + 20).map((job) => w.approve(sm8, job)));
      const got = await tracker.wait(monthJobs, quick ? 480_000 : 1_800_000);
      const last = got.size ? Math.max(...got.values()) : Date.now();
      f.monthEnd = {
        n: monthJobs.length,
        ms: (got.size === monthJobs.length ? last : Date.now()) - m0,
        arrived: got.size,
      };
      print(`month end: ${got.size}/${monthJobs.length} invoices in QuickBooks after ${s(f.monthEnd.ms)}`);
    }

    const end = await readCounters(sm8, qbo, api);
    f.share429 = { sm8: end.sm8.r429, qbo: end.qbo.r429, sm8Calls: end.sm8.total, qboCalls: end.qbo.total };
  } catch (err) {
    // A simulator's refusal says why in its body (e.g. QuickBooks' Fault): print it with the message.
    const body = (err as { response?: { config?: { url?: string }; data?: unknown } }).response;
    const why = body ? ` (${body.config?.url ?? ''}: ${JSON.stringify(body.data).slice(0, 400)})` : '';
    print(
      `FAILED: ${err instanceof Error ? err.message : String(err)}${why} (the figures below are what was measured before)`,
    );
    console.error(product.log.slice(-20).join(''));
  } finally {
    await tracker.stop();
    await histories.close().catch(() => undefined);
    await product.stop();
  }
  const minutes = ((performance.now() - began) / 60_000).toFixed(1);
  console.log(
    [
      `API budget (npm run bench:budget${quick ? ' -- --quick' : ''}), ${new Date().toISOString().slice(0, 16)}Z, ${minutes} min; ${f.size}; limits x${scale}`,
      ...out.map((l) => `  ${l}`),
      '',
      table(figureRows(f)),
    ].join('\n'),
  );
  return 0;
}

if (require.main === module)
  void runBudgetBench(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(0);
    },
  );

interface Sm8Call {
  seq: number;
  object?: string;
  operation: string;
  uuid?: string;
}

async function lastCallSeq(sm8: AxiosInstance): Promise<number> {
  const calls = (await sm8.get<Sm8Call[]>('/calls')).data;
  return calls.at(-1)?.seq ?? 0;
}

/** Whose jobs the reads of one job by uuid since `seq` were: the batch's (how often each) or others'. */
async function jobReadsSince(sm8: AxiosInstance, seq: number, jobs: string[]): Promise<string> {
  const mine = new Set(jobs);
  const reads = (await sm8.get<Sm8Call[]>('/calls')).data.filter(
    (c) => c.seq > seq && c.object === 'job' && c.operation === 'read' && c.uuid,
  );
  const perJob = new Map<string, number>();
  for (const r of reads) perJob.set(String(r.uuid), (perJob.get(String(r.uuid)) ?? 0) + 1);
  const ours = jobs.map((j) => perJob.get(j) ?? 0);
  const others = [...perJob.entries()].filter(([j]) => !mine.has(j));
  const hist = new Map<number, number>();
  for (const n of ours) hist.set(n, (hist.get(n) ?? 0) + 1);
  return `job reads by uuid: the batch's ${ours.reduce((a, b) => a + b, 0)} (${[...hist.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([k, v]) => `${v} jobs read ${k}×`)
    .join(', ')}), other jobs' ${others.reduce((a, [, n]) => a + n, 0)} (${others.length} jobs)`;
}

/**
 * The product's permit waits so far (its /metrics: sm8qbo_permit_wait_seconds), by system and lane, with the
 * calling workflow of the waits over a second: where an approval's time inside its activity can go.
 */
async function permitWaits(api: AxiosInstance): Promise<string> {
  const text = (await api.get<string>('/metrics', { responseType: 'text' })).data;
  const label = (l: string, k: string) => new RegExp(`${k}="([^"]*)"`).exec(l)?.[1] ?? '';
  const lane = (l: string) => `${label(l, 'system')}/${label(l, 'lane')}`;
  const series = (l: string) => `${lane(l)}/${label(l, 'workflow')}`;
  const value = (l: string) => Number(l.slice(l.lastIndexOf(' ') + 1));
  const lines = text.split('\n');
  const of = (metric: string) => lines.filter((l) => l.startsWith(`sm8qbo_permit_wait_seconds_${metric}{`));
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  // Waits over a second, per series: its count less its le="1" bucket.
  const over = new Map<string, number>();
  for (const l of of('count')) add(over, series(l), value(l));
  for (const l of of('bucket').filter((b) => label(b, 'le') === '1')) add(over, series(l), -value(l));
  const n = new Map<string, number>();
  const sum = new Map<string, number>();
  const overByLane = new Map<string, number>();
  for (const l of of('count')) add(n, lane(l), value(l));
  for (const l of of('sum')) add(sum, lane(l), value(l));
  for (const [k, v] of over) add(overByLane, k.split('/').slice(0, 2).join('/'), v);
  const slow = [...over.entries()].filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`);
  // What each lane waited for (the governor's last refusal before the grant), by seconds waited.
  const why = new Map<string, Map<string, number>>();
  for (const l of of('sum')) {
    const reason = label(l, 'waited_for');
    if (reason === 'none' || value(l) < 0.05) continue;
    const m = why.get(lane(l)) ?? new Map<string, number>();
    why.set(lane(l), m);
    add(m, reason, value(l));
  }
  const reasons = (k: string) => {
    const m = why.get(k);
    if (!m) return '';
    const parts = [...m.entries()].sort((a, b) => b[1] - a[1]).map(([r, v]) => `${r} ${v.toFixed(1)} s`);
    return ` (waited for: ${parts.join(', ')})`;
  };
  return `${[...n.entries()]
    .map(
      ([k, c]) =>
        `${k} ${c} waits, ${(sum.get(k) ?? 0).toFixed(1)} s in all, ${overByLane.get(k) ?? 0} over 1 s${reasons(k)}`,
    )
    .join('; ')}${slow.length ? ` (over 1 s: ${slow.join(', ')})` : ''}`;
}

/**
 * Waits for another worker's turn on a QuickBooks name (sm8qbo_name_turn_wait_seconds), by the waiter's
 * lane, kind and workflow: count, seconds in all, and the longest bucket reached.
 */
async function turnWaits(api: AxiosInstance): Promise<string> {
  const text = (await api.get<string>('/metrics', { responseType: 'text' })).data;
  const label = (l: string, k: string) => new RegExp(`${k}="([^"]*)"`).exec(l)?.[1] ?? '';
  const value = (l: string) => Number(l.slice(l.lastIndexOf(' ') + 1));
  const key = (l: string) => `${label(l, 'lane')}/${label(l, 'kind')}/${label(l, 'workflow')}`;
  const lines = text.split('\n');
  const of = (m: string) => lines.filter((l) => l.startsWith(`sm8qbo_name_turn_wait_seconds_${m}{`));
  const sum = new Map(of('sum').map((l) => [key(l), value(l)]));
  const over1 = new Map<string, number>();
  for (const l of of('count')) over1.set(key(l), value(l));
  for (const l of of('bucket').filter((b) => label(b, 'le') === '1'))
    over1.set(key(l), (over1.get(key(l)) ?? 0) - value(l));
  const parts = of('count')
    .filter((l) => value(l) > 0)
    .map(
      (l) =>
        `${key(l)} ${value(l)} waits, ${(sum.get(key(l)) ?? 0).toFixed(1)} s in all, ${over1.get(key(l)) ?? 0} over 1 s`,
    );
  return parts.length ? parts.join('; ') : 'none';
}
