/**
 * The soak's faults (bench/soak.ts): about 10 % of the product's API calls fail on each simulator (429s,
 * 5xx, lost answers after a hang, and writes committed whose answer is dropped), webhooks are duplicated,
 * reordered and dropped on both sides, and the schedule of 3 worker SIGKILLs, 1 Temporal restart and 1
 * PostgreSQL restart. `stop()` ends the API faults and webhook chaos; the counts say what fired.
 */
import type { RunningQuickBooksSimulator } from '../simulators/quickbooks';
import type { RunningServiceM8Simulator } from '../simulators/servicem8';
import { sleep } from './harness';
import type { Stack } from './soak-stack';

/** Each kind's share of the product's calls (together ~10 %); commit-then-drop only on writes. */
const RATES = { r429: 0.03, r5xx: 0.03, hang: 0.02, commitThenDrop: 0.04 };
const HANG_MS = 1500;

export interface FaultFigures {
  sm8: Record<string, number>;
  qbo: Record<string, number>;
  sm8Webhooks: { dropped: number; duplicated: number; delivered: number };
  qboWebhooks: { chaosRequested: number };
  processEvents: string[];
}

export function startApiFaults(sm8: RunningServiceM8Simulator, qbo: RunningQuickBooksSimulator) {
  const sm8Rules = sm8.control.faults.add(
    { path: '/api_1.0/', status: 429, rate: RATES.r429 },
    { path: '/api_1.0/', status: 500, rate: RATES.r5xx / (1 - RATES.r429) },
    { path: '/api_1.0/', timeout: true, hangMs: HANG_MS, rate: RATES.hang / (1 - RATES.r429 - RATES.r5xx) },
    {
      method: 'POST',
      path: '/api_1.0/',
      commitThenDrop: true,
      rate: RATES.commitThenDrop / (1 - RATES.r429 - RATES.r5xx - RATES.hang),
    },
  );
  const api = '^/v3/company/';
  const qboRules = [
    qbo.control.addFault({ path: api, status: 429, rate: RATES.r429 }),
    qbo.control.addFault({ path: api, status: 503, rate: RATES.r5xx / (1 - RATES.r429) }),
    qbo.control.addFault({
      path: api,
      timeout: true,
      hangMs: HANG_MS,
      rate: RATES.hang / (1 - RATES.r429 - RATES.r5xx),
    }),
    qbo.control.addFault({
      method: 'POST',
      path: api,
      commitThenDrop: true,
      rate: RATES.commitThenDrop / (1 - RATES.r429 - RATES.r5xx - RATES.hang),
    }),
  ];
  // Webhooks: ServiceM8 drops, duplicates and reorders by rate; QuickBooks by counts of the next batches.
  sm8.control.webhooks.configure({ dropRate: 0.1, duplicateRate: 0.15, reorder: true });
  let qboChaos = 0;
  let chaosOn = true;
  const chaosLoop = (async () => {
    while (chaosOn) {
      qbo.control.webhookChaos({ dropNext: 1, duplicateNext: 2, reorderNext: 2 });
      qboChaos += 5;
      await sleep(4000);
    }
  })();

  const names = ['429', '5xx', 'hang then drop', 'commit then drop'];
  return {
    async stop(): Promise<FaultFigures> {
      chaosOn = false;
      await chaosLoop;
      const sm8Hits = new Map(sm8.control.faults.list().map((r) => [r.id, r.hits]));
      const qboHits = new Map(qbo.control.listFaults().map((r) => [r.id, r.fired]));
      sm8.control.faults.clear();
      qbo.control.clearFaults();
      qbo.control.webhookChaos({ dropNext: 0, duplicateNext: 0, reorderNext: 0 });
      sm8.control.webhooks.configure({ dropRate: 0, duplicateRate: 0, reorder: false });
      const deliveries = sm8.control.webhooks.deliveries();
      return {
        sm8: Object.fromEntries(sm8Rules.map((r, i) => [names[i], sm8Hits.get(r.id) ?? 0])),
        qbo: Object.fromEntries(qboRules.map((r, i) => [names[i], qboHits.get(r.id) ?? 0])),
        sm8Webhooks: {
          dropped: deliveries.filter((d) => d.status === 'dropped').length,
          duplicated: deliveries.filter((d) => d.duplicateOf !== undefined).length,
          delivered: deliveries.filter((d) => d.status === 'delivered').length,
        },
        qboWebhooks: { chaosRequested: qboChaos },
        processEvents: [],
      };
    },
  };
}

/**
 * The process faults, evenly over the business window: worker SIGKILLs at 1/6, 3/6 and 5/6, Temporal
 * restarted at 2/6, PostgreSQL at 4/6. Resolves once all are done (each restart waits for its process; the
 * worker's restart reuses its workflow bundle, so a few seconds).
 */
export async function processFaults(
  stack: Stack,
  windowMs: number,
  log: (line: string) => void,
): Promise<string[]> {
  const plan: Array<[number, string, () => Promise<void>]> = [
    [1 / 6, 'worker SIGKILL', () => stack.killWorker()],
    [2 / 6, 'Temporal restart', () => stack.restartTemporal()],
    [3 / 6, 'worker SIGKILL', () => stack.killWorker()],
    [4 / 6, 'PostgreSQL restart', () => stack.restartPostgres()],
    [5 / 6, 'worker SIGKILL', () => stack.killWorker()],
  ];
  const start = performance.now();
  const done: string[] = [];
  for (const [at, name, run] of plan) {
    const wait = start + at * windowMs - performance.now();
    if (wait > 0) await sleep(wait);
    const t0 = performance.now();
    await run();
    const line = `${name} at ${((t0 - start) / 1000).toFixed(1)} s (back in ${((performance.now() - t0) / 1000).toFixed(1)} s)`;
    log(line);
    done.push(line);
  }
  return done;
}
