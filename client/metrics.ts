/**
 * GET /metrics (Prometheus text): this process's counters (infra/metrics.ts), the Temporal SDK's metrics
 * when this process runs a worker (its exporter listens on loopback only; infra/temporal-runtime.ts), and,
 * on the API, the values that live in PostgreSQL, read on scrape: budget per connection, records by state,
 * approval -> export latency. Those are the same whichever process asks, so only the API exposes them (a
 * separate worker's METRICS_PORT would count them twice). docs/decisions.md "Metrics".
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { API_LIMITS, type GovernedApi } from '../apis/governor/rate-governor';
import { processMetrics } from '../infra/metrics';
import { temporalMetricsUrl } from '../infra/temporal-runtime';
import { permitCounts, recordCounts, syncLatencyBuckets, type LatencyBuckets } from '../store/metrics';

export const LATENCY_BUCKETS_S = [1, 5, 15, 30, 60, 120, 300, 900, 3600];
/** The governor allows itself 95 % of each documented limit (apis/governor/rate-governor.ts). */
const SAFETY = 0.95;

type Sample = { labels: Record<string, string>; value: number };
const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const line = (name: string, labels: Record<string, string>, value: number) => {
  const l = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`);
  return `${name}${l.length ? `{${l.join(',')}}` : ''} ${value}`;
};
const family = (name: string, type: string, help: string, samples: Sample[]) =>
  [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples.map((s) => line(name, s.labels, s.value))]
    .join('\n')
    .concat('\n');

/** A histogram per connection whose cumulative bucket counts PostgreSQL computed. */
const histogram = (name: string, help: string, all: LatencyBuckets[]) =>
  [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} histogram`,
    ...all.flatMap((h) => {
      const c = { connection: h.connectionId };
      return [
        ...LATENCY_BUCKETS_S.map((le, i) =>
          line(`${name}_bucket`, { ...c, le: String(le) }, h.counts[i] ?? 0),
        ),
        line(`${name}_bucket`, { ...c, le: '+Inf' }, h.count),
        line(`${name}_sum`, c, h.sumSeconds),
        line(`${name}_count`, c, h.count),
      ];
    }),
  ].join('\n') + '\n';

type Counts = Awaited<ReturnType<typeof permitCounts>>;

/** The counts of every lane added up per connection and API. */
function allLanes(counts: Counts): Counts {
  const sums = new Map<string, Counts[number]>();
  for (const c of counts) {
    const key = `${c.connectionId}\u0000${c.api}`;
    const sum = sums.get(key);
    if (sum) {
      sum.lastMinute += c.lastMinute;
      sum.lastDay += c.lastDay;
    } else sums.set(key, { ...c, lane: 'all' });
  }
  return [...sums.values()];
}

/** The budget of each connection and API, per window the API limits: used and left. */
export async function budgets(
  pool: Pool,
  counts?: Counts,
): Promise<Array<{ connection: string; api: string; window: string; used: number; limit: number }>> {
  const out = [];
  for (const c of allLanes(counts ?? (await permitCounts(pool)))) {
    const limits = API_LIMITS[c.api as GovernedApi] ?? {};
    for (const [window, used, limit] of [
      ['minute', c.lastMinute, limits.perMinute],
      ['day', c.lastDay, limits.perDay],
    ] as const) {
      if (limit)
        out.push({
          connection: c.connectionId,
          api: c.api,
          window,
          used,
          limit: Math.max(1, Math.floor(limit * SAFETY)),
        });
    }
  }
  return out;
}

/** The metrics that live in PostgreSQL, as Prometheus text. */
export async function databaseMetrics(pool: Pool): Promise<string> {
  const [counts, records, latency] = await Promise.all([
    permitCounts(pool),
    recordCounts(pool),
    syncLatencyBuckets(pool, LATENCY_BUCKETS_S),
  ]);
  const budget = await budgets(pool, counts);
  const byLane = counts.flatMap((c) =>
    (['minute', 'day'] as const).map((window) => ({
      labels: { connection: c.connectionId, api: c.api, window, lane: c.lane },
      value: window === 'minute' ? c.lastMinute : c.lastDay,
    })),
  );
  const b = (key: 'used' | 'left') =>
    budget.map((x) => ({
      labels: { connection: x.connection, api: x.api, window: x.window },
      value: key === 'used' ? x.used : Math.max(0, x.limit - x.used),
    }));
  return [
    family(
      'sm8qbo_budget_used',
      'gauge',
      'API calls made per connection and API in the sliding window (rate-governor permits)',
      b('used'),
    ),
    family(
      'sm8qbo_budget_left',
      'gauge',
      'API calls the governor still allows per connection and API in the sliding window',
      b('left'),
    ),
    family(
      'sm8qbo_budget_used_by_lane',
      'gauge',
      'API calls made per connection, API and lane (interactive, live, bulk) in the last minute and the last 24 hours',
      byLane,
    ),
    family(
      'sm8qbo_records',
      'gauge',
      'Records per connection by state: exported, held (a reason says why), stuck (a step failing again and again, or approved but neither exported nor held after 15 minutes)',
      records.map((r) => ({
        labels: { connection: r.connectionId, kind: r.kind, state: r.category },
        value: r.count,
      })),
    ),
    histogram(
      'sm8qbo_sync_latency_seconds',
      'Time from the sync first seeing a job approved to its invoice being in QuickBooks',
      latency,
    ),
  ].join('');
}

/** The Temporal SDK's metrics of this process, or a comment saying why there are none. */
async function temporalMetrics(): Promise<string> {
  const url = temporalMetricsUrl();
  if (!url) return '';
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return `# Temporal SDK metrics unavailable: HTTP ${res.status}\n`;
    return await res.text();
  } catch (err) {
    return `# Temporal SDK metrics unavailable: ${(err as Error).message}\n`;
  }
}

/** The whole /metrics answer; `pool`: include the PostgreSQL metrics (the API does, a worker does not). */
export async function renderMetrics(pool: Pool | null): Promise<string> {
  const [own, sdk, db] = await Promise.all([
    processMetrics.metrics(),
    temporalMetrics(),
    pool ? databaseMetrics(pool) : Promise.resolve(''),
  ]);
  return `${own}\n${db}${sdk}`;
}

/** GET /metrics on the API; registered inside the admin-token scope (Prometheus sends the bearer token). */
export function registerMetricsRoute(app: FastifyInstance, pool: Pool): void {
  app.get('/metrics', async (_req, reply) =>
    reply.type(processMetrics.contentType).send(await renderMetrics(pool)),
  );
}

/** Constant-time comparison (both sides hashed: no length leaks). */
function sameToken(given: string, expected: string): boolean {
  const h = (v: string) => crypto.createHash('sha256').update(v).digest();
  return crypto.timingSafeEqual(h(given), h(expected));
}

/**
 * The worker's own /metrics on METRICS_PORT (compose: the worker runs apart from the API). With a token
 * (ADMIN_TOKEN), a scrape must send it as a bearer token, like the API's /metrics.
 */
export async function startMetricsServer(opts: {
  host: string;
  port: number;
  token: string;
}): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    if (!sameToken(req.headers.authorization ?? '', `Bearer ${opts.token}`)) {
      res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer realm="sm8qbo"' });
      res.end('send Authorization: Bearer <ADMIN_TOKEN>\n');
      return;
    }
    renderMetrics(null).then(
      (text) => res.writeHead(200, { 'Content-Type': processMetrics.contentType }).end(text),
      (err: unknown) =>
        res
          .writeHead(500, { 'Content-Type': 'text/plain' })
          .end(`metrics failed: ${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}
