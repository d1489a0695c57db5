/**
 * The process's Prometheus metrics (prom-client): what each process counts in memory as it works. The
 * values that live in PostgreSQL (budget, records by state, sync latency) are read on scrape by
 * client/metrics.ts; the Temporal SDK's own metrics come from its Prometheus endpoint (infra/temporal-runtime.ts).
 * docs/decisions.md "Metrics: where each value lives" says which process exposes what.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { currentLaneContext } from './lane-context';

/** One registry per process: the worker and the API each expose it (npm start: one process, one registry). */
export const processMetrics = new Registry();
collectDefaultMetrics({ register: processMetrics, prefix: 'sm8qbo_process_' });

export type ApiSystem = 'servicem8' | 'quickbooks';

export const apiCalls = new Counter({
  name: 'sm8qbo_api_calls_total',
  help: 'Calls to ServiceM8 and QuickBooks, by system, endpoint (path template), lane (interactive, live, bulk), workflow (the calling workflow type, or none outside a workflow) and HTTP status (network: no answer)',
  labelNames: ['system', 'endpoint', 'lane', 'workflow', 'status'] as const,
  registers: [processMetrics],
});

export const permitWait = new Histogram({
  name: 'sm8qbo_permit_wait_seconds',
  help: "Time an API call waited for a rate-governor permit before it was sent, by lane (interactive, live, bulk), calling workflow type and what it waited for (the governor's last refusal, e.g. qbo/concurrent or sm8/minute; queue: behind other callers; none: granted at once)",
  labelNames: ['system', 'lane', 'workflow', 'waited_for'] as const,
  buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300],
  registers: [processMetrics],
});

export const nameTurnWait = new Histogram({
  name: 'sm8qbo_name_turn_wait_seconds',
  help: "Time a find-or-create by QuickBooks name waited for another worker's turn on the same name, by kind (customer, item), lane (the waiter's) and calling workflow type",
  labelNames: ['kind', 'lane', 'workflow'] as const,
  buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300],
  registers: [processMetrics],
});

export const permitWaiters = new Gauge({
  name: 'sm8qbo_permit_waiters',
  help: 'API calls waiting for a rate-governor permit right now, by system and lane (interactive, live, bulk): work that is not done yet although no call is being made',
  labelNames: ['system', 'lane'] as const,
  registers: [processMetrics],
});

export const webhookReceipts = new Counter({
  name: 'sm8qbo_webhook_receipts_total',
  help: 'Webhook events received, by source (servicem8, quickbooks) and outcome (stored: to be routed; unrouted: no owner or connection; duplicate: already received)',
  labelNames: ['source', 'outcome'] as const,
  registers: [processMetrics],
});

export const webhookLag = new Histogram({
  name: 'sm8qbo_webhook_lag_seconds',
  help: 'Time from receiving a webhook event to waking its owner workflow (includes time spent waiting in the inbox while Temporal was unreachable)',
  labelNames: ['source'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 600],
  registers: [processMetrics],
});

/** The metrics' name of a webhook source ('sm8' and 'qbo' in the inbox). */
export const sourceName = (source: string): string =>
  source === 'sm8' ? 'servicem8' : source === 'qbo' ? 'quickbooks' : source;

/** Webhook events received: the rows stored (pending: to be routed; unrouted) and the duplicates dropped. */
export function countWebhookReceipts(
  stored: Array<{ source: string; state: string }>,
  duplicates: number,
  source: string,
): void {
  for (const row of stored)
    webhookReceipts.inc({
      source: sourceName(row.source),
      outcome: row.state === 'unrouted' ? 'unrouted' : 'stored',
    });
  if (duplicates) webhookReceipts.inc({ source: sourceName(source), outcome: 'duplicate' }, duplicates);
}

/** A webhook event routed `lagSeconds` after its receipt (null: another router had routed it). */
export function observeWebhookLag(source: string, lagSeconds: number | null): void {
  if (lagSeconds !== null) webhookLag.observe({ source: sourceName(source) }, Math.max(0, lagSeconds));
}

/**
 * The lane of an API call (infra/lane-context.ts: interactive, live or bulk, from the activity's task queue;
 * interactive outside any activity) and the workflow type of the activity making it ('none' outside one).
 */
export function currentLane(): { lane: string; workflow: string } {
  const ctx = currentLaneContext();
  return { lane: ctx.lane, workflow: ctx.workflowType ?? 'none' };
}

const SM8_RECORD = /^\/api_1\.0\/([a-z]+)\/[^/]+\.json$/;
const QBO_RECORD = /^\/([a-z]+)\/[^/]+(\/[a-z]+)?$/;

/** The path template of an API call: record ids replaced by `:id`, so a label never holds an id. */
export function endpointTemplate(system: ApiSystem, path: string): string {
  const bare = path.split('?')[0] as string;
  if (system === 'servicem8') return bare.replace(SM8_RECORD, '/api_1.0/$1/:id.json');
  return bare.replace(QBO_RECORD, (_m, entity: string, action?: string) => `/${entity}/:id${action ?? ''}`);
}

/** The status label of a finished call: the HTTP status, or 'network' when no answer came. */
export function statusOf(err: unknown): string {
  const status = (err as { response?: { status?: number } } | null)?.response?.status;
  return status ? String(status) : 'network';
}

/**
 * Counts one API call around `send` (which runs inside the governor's permit): the permit wait is the time
 * from `requestedAt` to the start of `send`.
 */
export async function countedCall<T extends { status: number }>(
  system: ApiSystem,
  path: string,
  requestedAt: number,
  waitedFor: string | null,
  send: () => Promise<T>,
): Promise<T> {
  const { lane, workflow } = currentLane();
  permitWait.observe(
    { system, lane, workflow, waited_for: waitedFor ?? 'none' },
    (performance.now() - requestedAt) / 1000,
  );
  const endpoint = endpointTemplate(system, path);
  try {
    const res = await send();
    apiCalls.inc({ system, endpoint, lane, workflow, status: String(res.status) });
    return res;
  } catch (err) {
    apiCalls.inc({ system, endpoint, lane, workflow, status: statusOf(err) });
    throw err;
  }
}
