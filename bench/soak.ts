/**
 * `npm run soak [-- --seed N] [--short | --long]`: a seeded soak of the whole product (issue 13 item 9).
 *
 * The product runs as separate worker and API processes against its own embedded PostgreSQL and Temporal
 * dev server (bench/soak-stack.ts), with both simulators. A seeded messy business (bench/soak-business.ts,
 * soak-acts.ts) is run through the simulators' control APIs under faults (bench/soak-faults.ts: ~10 % of
 * API calls failing, webhook chaos, 3 worker SIGKILLs, a Temporal and a PostgreSQL restart). Then the faults
 * stop and the checks (bench/soak-checks.ts) run every few seconds until they pass (the convergence time)
 * or 2 minutes pass; the figures are printed and the exit code is non-zero when a check fails.
 *
 * `--short` (default, CI): a small business, limits x3. `--long`: 500 invoices, 1,000 payments, 200
 * clients, 200 materials, limits x10: a benchmark (docs/benchmarks.md, "Soak").
 *
 * While it waits for convergence it prints what is still failing whenever that changes. To trace a slow
 * record: `SOAK_LOG=/tmp/soak.log SOAK_LOG_LEVEL=debug npm run soak` keeps every product log line.
 */
import { Pool } from 'pg';
import { recoverPerMs } from '../apis/governor/policy';
import { arg, sleep, until } from './harness';
import { actDone, doAct, newActState, planActs, type ActKind } from './soak-acts';
import {
  SIZES,
  act,
  approve,
  makeJob,
  newBusiness,
  seedQuickBooks,
  seedServiceM8,
  seeded,
  type JobInfo,
  type People,
} from './soak-business';
import { checkData, checkTemporal, converge, describeOwners } from './soak-checks';
import { processFaults, startApiFaults } from './soak-faults';
import { CONNECTION, startStack, type Stack } from './soak-stack';

export interface SoakResult {
  ok: boolean;
  seed: number;
  size: string;
  wallSeconds: number;
  convergedSeconds: number | null;
  failures: string[];
  figures: Record<string, unknown>;
}

/** How long the checks may take to pass once the faults stop: the long soak's backlog is 17 times larger. */
const CONVERGE_CAP_MS = { short: 120_000, long: 600_000 };

/** The product's API calls so far (the simulators count every call but their control APIs'). */
function callCounts(stack: Stack): { sm8: number; qbo: number } {
  const qbo = stack.qbo.control.stats().perEndpoint;
  return {
    sm8: stack.sm8.control.calls.stats().total,
    qbo: Object.values(qbo).reduce((n, v) => n + v, 0),
  };
}

/** What the worker is doing: its API calls so far by calling workflow type, and its permit waiters and the
 * governor's slowdown per API family now (1: full rate), as one line. */
async function workerState(
  stack: Stack,
  pool: Pool,
): Promise<{ calls: Record<string, number>; waits: string }> {
  const text = await stack.workerMetrics().catch(() => '');
  const calls: Record<string, number> = {};
  const waiting: string[] = [];
  for (const line of text.split('\n')) {
    const waiters = /^sm8qbo_permit_waiters\{.*system="([^"]*)".*lane="([^"]*)".*\} (\d+)/.exec(line);
    if (waiters && Number(waiters[3]) > 0) waiting.push(`${waiters[1]}/${waiters[2]} ${waiters[3]}`);
    if (!line.startsWith('sm8qbo_api_calls_total{')) continue;
    const workflow = /workflow="([^"]*)"/.exec(line)?.[1] ?? '?';
    calls[workflow] = (calls[workflow] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  const r = await pool
    .query<{ family: string; factor: number }>(
      `SELECT family, rate_governor_factor(factor, updated_at, now(), $1) AS factor FROM rate_slowdowns
        WHERE connection_id = $2`,
      [recoverPerMs(60_000), CONNECTION],
    )
    .catch(() => ({ rows: [] }));
  const slowdown = r.rows.map((x) => `${x.family} ${Number(x.factor).toFixed(2)}`).join(', ') || 'none';
  return { calls, waits: `permit waiters ${waiting.join(', ') || 'none'}; slowdown ${slowdown}` };
}

export async function runSoak(opts: {
  seed: number;
  size: 'short' | 'long';
  /** On failure, leave the stack up for inspection until SIGINT. */
  keep?: boolean;
  log?: (l: string) => void;
}): Promise<SoakResult> {
  const log = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const size = SIZES[opts.size];
  const t0 = performance.now();
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const long = opts.size === 'long';
  const stack: Stack = await startStack({ pollInterval: long ? '30s' : '15s', scale: long ? 10 : 3 });
  const pool = new Pool({ connectionString: stack.databaseUrl, max: 2 });
  pool.on('error', () => undefined);
  const p: People = { sm8: stack.sm8, qbo: stack.qbo, rng: seeded(opts.seed), size, biz: newBusiness() };
  try {
    log(`soak ${size.name}, seed ${opts.seed}: stack up in ${s(performance.now() - t0)} (${stack.dir})`);
    seedQuickBooks(p);
    await stack.connect();
    const api = { headers: { Authorization: `Bearer ${stack.adminToken}` } };
    await until(
      'the onboarding',
      performance.now(),
      long ? 600_000 : 120_000,
      async () => {
        const res = await fetch(`${stack.apiUrl}/admin/connections/${CONNECTION}/onboarding`, api).catch(
          () => null,
        );
        const body = res?.ok ? ((await res.json()) as { progress?: { state?: string } }) : null;
        return body?.progress?.state === 'done';
      },
      500,
    );
    log(`connected and onboarded at ${s(performance.now() - t0)}`);
    const refs = seedServiceM8(p);
    // A tax rate made in ServiceM8 (TAX-3 deactivates it): jobs using it are held TAX_RATE_UNMAPPED.
    const unmapped = p.rng.uuid();
    act(p, 'sm8: add tax rate', () =>
      p.sm8.control.insert('taxrate', { uuid: unmapped, name: 'Soak levy 7%', amount: '7', active: 1 }),
    );

    // The business under faults.
    const windowMs = long ? 600_000 : 50_000;
    const callsBefore = callCounts(stack);
    const faults = startApiFaults(stack.sm8, stack.qbo);
    const processes = processFaults(stack, windowMs, (l) => log(`  ${l}`));
    const start = performance.now();
    const approved: JobInfo[] = [];
    const jobsBy = start + 0.4 * windowMs;
    for (let n = 0; n < size.jobs; n++) {
      const job = makeJob(p, refs, unmapped, n);
      if (!p.rng.chance(0.08)) {
        approve(p, job);
        approved.push(job);
      }
      await sleep(Math.max(0, (jobsBy - performance.now()) / (size.jobs - n)));
    }
    // The acts, spread over the rest of the window; one with nothing to act on yet (an invoice not exported)
    // goes back 3 places in the queue and takes no time slot (only when every act left waits does the loop
    // pause a second); what still waits when the window ends is counted as not done.
    const st = newActState();
    const queue = planActs(p);
    // Under faults, every 30 s: what the product spends and what it waits for (the governor's slowdown).
    let windowLast = callCounts(stack);
    const windowTimer = setInterval(() => {
      const now = callCounts(stack);
      const calls = `${now.sm8 - windowLast.sm8}+${now.qbo - windowLast.qbo}`;
      windowLast = now;
      void workerState(stack, pool).then(({ waits }) =>
        log(`  at ${s(performance.now() - t0)}: SM8+QBO calls in 30 s ${calls}; ${waits}`),
      );
    }, 30_000);
    const actsPlanned = queue.length;
    let waits = 0;
    let waitsInARow = 0;
    while (queue.length && performance.now() < start + windowMs) {
      const kind = queue.shift() as ActKind;
      if (doAct(p, refs, st, approved, kind) === 'wait') {
        queue.splice(3, 0, kind);
        waits++;
        if (++waitsInARow < queue.length) continue;
        await sleep(1000);
      }
      actDone(st); // an act was done, or a second went by: the product may have exported more
      waitsInARow = 0;
      await sleep(Math.max(0, (start + windowMs - performance.now()) / (queue.length + 1)));
    }
    const actsNotDone: Record<string, number> = {};
    for (const kind of queue) actsNotDone[kind] = (actsNotDone[kind] ?? 0) + 1;
    clearInterval(windowTimer);
    const processEvents = await processes;
    const faultFigures = await faults.stop();
    const callsAfter = callCounts(stack);
    const windowCalls = { sm8: callsAfter.sm8 - callsBefore.sm8, qbo: callsAfter.qbo - callsBefore.qbo };
    const fired = (f: Record<string, number>) => Object.values(f).reduce((n, v) => n + v, 0);
    const faultShare = {
      sm8: windowCalls.sm8 ? Math.round((1000 * fired(faultFigures.sm8)) / windowCalls.sm8) / 10 : 0,
      qbo: windowCalls.qbo ? Math.round((1000 * fired(faultFigures.qbo)) / windowCalls.qbo) / 10 : 0,
    };
    const stopped = performance.now();
    log(
      `faults stopped at ${s(stopped - t0)}; ${size.jobs} jobs, ${st.paymentsMade} payments; waiting for convergence`,
    );

    // What the product spends while it converges, every 10 s: busy at its budget, or waiting for something.
    // Which workflows made them (the worker's own count, `sm8qbo_api_calls_total` by workflow) goes to the log.
    const pace: string[] = [];
    let paceLast = callCounts(stack);
    let byWorkflowLast = (await workerState(stack, pool)).calls;
    const paceTimer = setInterval(() => {
      const now = callCounts(stack);
      pace.push(`${now.sm8 - paceLast.sm8}+${now.qbo - paceLast.qbo}`);
      paceLast = now;
      void workerState(stack, pool).then(({ calls, waits }) => {
        const step = Object.entries(calls)
          .map(([w, n]) => [w, n - (byWorkflowLast[w] ?? 0)] as const)
          .filter(([, n]) => n > 0)
          .sort((a, b) => b[1] - a[1])
          .map(([w, n]) => `${w.replace(/Workflow$/, '')} ${n}`);
        byWorkflowLast = calls;
        log(`  last 10 s: calls by workflow ${step.join(', ') || 'none'}; ${waits}`);
      });
    }, 10_000);
    // Convergence: the data checks, every 3 s, until they pass.
    const { convergedMs, verdict } = await converge(
      () => checkData(pool, stack.sm8, stack.qbo, p.biz),
      CONVERGE_CAP_MS[opts.size],
      3000,
      // What is still converging, when it changes: the first lines name the records the soak waits for.
      (atMs, left) => {
        log(
          `  +${s(atMs)}: ${left.length} check(s) failing${
            left.length
              ? `: ${left
                  .slice(0, 3)
                  .map((f) => f.slice(0, 160))
                  .join(' | ')}`
              : ''
          }`,
        );
        // SOAK_TRACE=1: what the owners of the first failing records are doing, at each change.
        if (process.env.SOAK_TRACE)
          void describeOwners(stack.temporalAddress, left.slice(0, 3)).then((lines) =>
            lines.forEach((l) => log(`    ${l.slice(0, 600)}`)),
          );
      },
    );
    clearInterval(paceTimer);
    const temporal = await checkTemporal(pool, stack.temporalAddress);
    const failures = [...verdict.failures, ...temporal.failures];
    if (convergedMs === null) {
      failures.push(`not converged within ${CONVERGE_CAP_MS[opts.size] / 1000} s of the faults stopping`);
      failures.push(...(await describeOwners(stack.temporalAddress, verdict.failures)));
    }
    const sm8Stats = stack.sm8.control.calls.stats() as unknown as {
      total: number;
      byStatus: Record<string, number>;
    };
    const qboStats = stack.qbo.control.stats();
    const figures = {
      outcomes: verdict.outcomes,
      heldThoughMeantToExport: verdict.heldByDesignOrNot.length,
      duplicates: verdict.duplicates,
      mismatchedPaymentSums: verdict.mismatchedSums,
      paymentsHeldWithReason: verdict.paymentsHeld.length,
      failedWorkflows: temporal.failedWorkflows,
      runningWorkflows: temporal.running,
      silentRetries: temporal.silentRetries,
      stuckSteps: temporal.stuckSteps,
      convergenceSeconds: convergedMs === null ? null : Math.round(convergedMs / 100) / 10,
      apiCalls: {
        sm8: sm8Stats.total,
        sm8ByStatus: sm8Stats.byStatus,
        qbo: Object.values(qboStats.perEndpoint).reduce((n, v) => n + v, 0),
        qbo429: qboStats.throttled,
      },
      faultWindow: { calls: windowCalls, faultedPercent: faultShare },
      faults: {
        sm8: faultFigures.sm8,
        qbo: faultFigures.qbo,
        sm8Webhooks: faultFigures.sm8Webhooks,
        qboWebhooks: faultFigures.qboWebhooks,
      },
      processEvents,
      acts: p.biz.acts,
      actsPlanned,
      actsWaitedForATarget: waits,
      actsNotDone,
      refusedByTheApps: p.biz.refused.length,
    };
    const wallSeconds = Math.round((performance.now() - t0) / 100) / 10;
    log('');
    log(
      `soak ${size.name} seed ${opts.seed}: ${failures.length === 0 ? 'PASSED' : `FAILED (${failures.length})`} in ${wallSeconds} s`,
    );
    log(
      `  outcomes of ${p.biz.jobs.size} jobs: ${Object.entries(verdict.outcomes)
        .map(([k, v]) => `${v} ${k}`)
        .join('; ')}`,
    );
    log(
      `  duplicates ${verdict.duplicates}; mismatched payment sums ${verdict.mismatchedSums}; failed workflows ${temporal.failedWorkflows}; silent retries > 5 attempts ${temporal.silentRetries}; stuck steps shown ${temporal.stuckSteps}`,
    );
    for (const line of temporal.stuckShown) log(`    stuck: ${line}`);
    log(
      `  converged ${convergedMs === null ? `NOT within ${CONVERGE_CAP_MS[opts.size] / 1000} s` : `${s(convergedMs)} after the faults stopped`}`,
    );
    log(
      `  API calls: ServiceM8 ${figures.apiCalls.sm8} (${JSON.stringify(sm8Stats.byStatus)}), QuickBooks ${figures.apiCalls.qbo} (${qboStats.throttled} throttled)`,
    );
    log(
      `  under faults: ServiceM8 ${windowCalls.sm8} calls, ${faultShare.sm8} % faulted; QuickBooks ${windowCalls.qbo} calls, ${faultShare.qbo} % faulted`,
    );
    log(
      `  faults fired: ServiceM8 ${JSON.stringify(faultFigures.sm8)}; QuickBooks ${JSON.stringify(faultFigures.qbo)}`,
    );
    log(
      `  webhooks: ServiceM8 ${JSON.stringify(faultFigures.sm8Webhooks)}; QuickBooks chaos (drop/duplicate/reorder) ${faultFigures.qboWebhooks.chaosRequested}`,
    );
    log(`  processes: ${processEvents.join('; ')}`);
    log(`  calls while converging, SM8+QBO per 10 s: ${pace.join(' ') || 'none'}`);
    log(
      `  acts: ${Object.entries(p.biz.acts)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}; refused by the apps ${p.biz.refused.length}`,
    );
    log(
      `  ${actsPlanned} acts planned, ${waits} waits for a target; not done: ${JSON.stringify(actsNotDone)}`,
    );
    for (const h of verdict.heldByDesignOrNot.slice(0, 20)) log(`  held (meant to export): ${h}`);
    for (const h of verdict.paymentsHeld.slice(0, 20)) log(`  payment held (note on the job): ${h}`);
    for (const f of failures.slice(0, 60)) log(`  FAIL ${f}`);
    if (failures.length > 60) log(`  … and ${failures.length - 60} more`);
    if (failures.length) log(`product log tail:\n${stack.tail(30)}`);
    if (failures.length && opts.keep) {
      log(
        `--keep: the stack stays up (database ${stack.databaseUrl}, Temporal ${stack.temporalAddress}); Ctrl-C ends it`,
      );
      await new Promise((resolve) => process.once('SIGINT', resolve));
    }
    return {
      ok: failures.length === 0,
      seed: opts.seed,
      size: size.name,
      wallSeconds,
      convergedSeconds: figures.convergenceSeconds,
      failures,
      figures,
    };
  } finally {
    await pool.end().catch(() => undefined);
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const seed = arg(argv, 'seed', 1);
  const size = argv.includes('--long') ? 'long' : 'short';
  const result = await runSoak({ seed, size, keep: argv.includes('--keep') });
  process.stdout.write(`SOAK-RESULT ${JSON.stringify(result)}\n`);
  process.exit(result.ok ? 0 : 1);
}

if (require.main === module)
  main().catch((err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  });
