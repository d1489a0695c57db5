/**
 * OPS- observability (issue 14): /metrics after a real export through the integration stack (simulators,
 * worker on the real Temporal server, PostgreSQL): the counters carry the right labels and their values
 * moved; the values kept in PostgreSQL (budget, records, latency) are read on scrape; /metrics needs the
 * admin token; the worker's own /metrics (METRICS_PORT) serves its counters behind the same token.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import axios from 'axios';
import { startMetricsServer } from '../client/metrics';
import { recordEvents, routeRows } from '../client/webhook-inbox';
import { API_LIMITS } from '../apis/governor/rate-governor';
import { signalInvoice } from '../routing/routes';
import { freePort } from '../infra/ports';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { testEnv } from './helpers/env';
import { startWorld, type World } from './helpers/world';
import { waitUntil } from './helpers/wait';

let w: World;
let f: Sm8Fixtures;
const CONN = 'metrics';

beforeAll(async () => {
  w = await startWorld();
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  await w.connect(CONN);
});
afterAll(async () => {
  await w.close();
});

/** Parsed exposition text: `name{labels}` -> value (labels as Prometheus prints them). */
type Scrape = Map<string, number>;

function parse(text: string): Scrape {
  const out: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

async function scrape(): Promise<{ text: string; values: Scrape }> {
  const res = await axios.get<string>(`${w.apiUrl}/metrics`, {
    headers: { Authorization: `Bearer ${w.adminToken}` },
    responseType: 'text',
  });
  expect(res.headers['content-type']).toContain('text/plain');
  return { text: res.data, values: parse(res.data) };
}

/** The sum of a metric's samples whose labels include all of `labels` (any lane, when none is given). */
const total = (s: Scrape, name: string, labels: Record<string, string>) => {
  let sum = 0;
  for (const [key, v] of s) {
    if (!key.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, val]) => key.includes(`${k}="${val}"`))) sum += v;
  }
  return sum;
};

/** A sample's value, 0 when absent; `labels` in the order the metric declares them. */
const value = (s: Scrape, name: string, labels: Record<string, string>) => {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return s.get(`${name}{${l}}`) ?? 0;
};

async function waitExported(jobUuid: string): Promise<void> {
  await waitUntil(
    `job ${jobUuid} exported`,
    async () =>
      (
        await w.h.pool.query<{ state: string }>(
          'SELECT state FROM invoice_exports WHERE connection_id = $1 AND job_uuid = $2',
          [CONN, jobUuid],
        )
      ).rows[0]?.state ?? 'none',
    (now) => now === 'EXPORTED',
  );
}

describe('OPS-4: Prometheus metrics', () => {
  it('OPS-4: an export moves the API-call, permit-wait, record, budget and latency metrics, with ids kept out of labels', async () => {
    const before = await scrape();
    const client = f.client('Metrics Plumbing Pty Ltd');
    const job = f.job({ clientUuid: client, lines: [{ name: 'Labour', qty: '2', unit: '90', tax: 'GST' }] });
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    await waitExported(job);
    const after = await scrape();

    const caller = { workflow: 'invoiceWorkflow', status: '200' };
    const jobRead = { system: 'servicem8', endpoint: '/api_1.0/job/:id.json', ...caller };
    const invoiceCreate = { system: 'quickbooks', endpoint: '/invoice', ...caller };
    for (const labels of [jobRead, invoiceCreate]) {
      expect(total(after.values, 'sm8qbo_api_calls_total', labels)).toBeGreaterThan(
        total(before.values, 'sm8qbo_api_calls_total', labels),
      );
    }
    // Every call carries its lane (issue 12): interactive, live or bulk.
    const laneOf = [...after.values.keys()]
      .filter((k) => k.startsWith('sm8qbo_api_calls_total{') && k.includes('workflow="invoiceWorkflow"'))
      .map((k) => /lane="([^"]+)"/.exec(k)?.[1]);
    expect(laneOf.length).toBeGreaterThan(0);
    for (const lane of laneOf) expect(['interactive', 'live', 'bulk']).toContain(lane);
    // No record id in any label: endpoints are templates.
    expect(after.text).not.toContain(job);
    expect(after.text).not.toContain(client);

    const waits = (s: Scrape) =>
      total(s, 'sm8qbo_permit_wait_seconds_count', { system: 'quickbooks', workflow: 'invoiceWorkflow' });
    expect(waits(after.values)).toBeGreaterThan(waits(before.values));

    expect(
      value(after.values, 'sm8qbo_records', { connection: CONN, kind: 'invoice', state: 'exported' }),
    ).toBe(1);

    const used = value(after.values, 'sm8qbo_budget_used', { connection: CONN, api: 'sm8', window: 'day' });
    const left = value(after.values, 'sm8qbo_budget_left', { connection: CONN, api: 'sm8', window: 'day' });
    expect(used).toBeGreaterThan(0);
    expect(used + left).toBe(Math.floor((API_LIMITS.sm8.perDay as number) * 0.95));
    // The same calls by lane (issue 12): the lanes add up to the whole.
    expect(
      total(after.values, 'sm8qbo_budget_used_by_lane', { connection: CONN, api: 'sm8', window: 'day' }),
    ).toBe(used);

    // This connection's histogram: the one export, seen approved within the test's minute.
    const latency = (s: Scrape, series: string, le?: string) =>
      value(s, `sm8qbo_sync_latency_seconds_${series}`, le ? { connection: CONN, le } : { connection: CONN });
    expect(latency(before.values, 'count')).toBe(0);
    expect(latency(after.values, 'count')).toBe(1);
    expect(latency(after.values, 'bucket', '+Inf')).toBe(1);
    expect(latency(after.values, 'bucket', '60')).toBe(1);
    expect(latency(after.values, 'sum')).toBeGreaterThan(0);
    expect(latency(after.values, 'sum')).toBeLessThan(60);
  });

  it('OPS-4: webhook receipts count stored, unrouted and duplicate events by source; routing observes the lag', async () => {
    const before = (await scrape()).values;
    const stamp = Date.now();
    const base = { source: 'sm8' as const, entity: 'job', operation: null, payload: {} };
    const stray = { ...base, connectionId: null, eventId: `metrics-stray-${stamp}`, entityId: 'no-such-job' };
    const job = f.job({
      clientUuid: f.client('Webhook Lag Co'),
      lines: [{ name: 'A', qty: '1', unit: '5', tax: 'GST' }],
    });
    const owned = { ...base, connectionId: CONN, eventId: `metrics-owned-${stamp}`, entityId: job };
    await recordEvents(w.h.pool, [stray]);
    await recordEvents(w.h.pool, [stray]);
    const { stored } = await recordEvents(w.h.pool, [owned]);
    const routing = { temporal: w.h.client, links: w.h.deps.links, taskQueue: w.h.taskQueue, pool: w.h.pool };
    expect((await routeRows(w.h.pool, routing, stored)).routed).toBe(1);
    const after = (await scrape()).values;
    for (const outcome of ['unrouted', 'duplicate', 'stored'])
      expect(value(after, 'sm8qbo_webhook_receipts_total', { source: 'servicem8', outcome })).toBe(
        value(before, 'sm8qbo_webhook_receipts_total', { source: 'servicem8', outcome }) + 1,
      );
    const lag = (s: Scrape) => value(s, 'sm8qbo_webhook_lag_seconds_count', { source: 'servicem8' });
    expect(lag(after)).toBe(lag(before) + 1);
    expect(value(after, 'sm8qbo_webhook_lag_seconds_bucket', { le: '60', source: 'servicem8' })).toBe(
      lag(after),
    );
    await waitExported(job);
  });

  it('OPS-4: /metrics needs the admin token (Prometheus sends it as a bearer token)', async () => {
    const anonymous = await axios.get(`${w.apiUrl}/metrics`, { validateStatus: () => true });
    expect(anonymous.status).toBe(401);
    const wrong = await axios.get(`${w.apiUrl}/metrics`, {
      headers: { Authorization: 'Bearer not-the-token' },
      validateStatus: () => true,
    });
    expect(wrong.status).toBe(401);
  });

  it("OPS-4: the worker's own /metrics (METRICS_PORT) serves its counters behind the token, without the database's values", async () => {
    const port = await freePort();
    const server = await startMetricsServer({ host: '127.0.0.1', port, token: w.adminToken });
    try {
      const url = `http://127.0.0.1:${port}/metrics`;
      expect((await axios.get(url, { validateStatus: () => true })).status).toBe(401);
      const res = await axios.get<string>(url, {
        headers: { Authorization: `Bearer ${w.adminToken}` },
        responseType: 'text',
      });
      expect(res.status).toBe(200);
      const values = parse(res.data);
      expect([...values.keys()].some((k) => k.startsWith('sm8qbo_api_calls_total{'))).toBe(true);
      expect(res.data).not.toContain('sm8qbo_records');
      expect((await axios.get(`http://127.0.0.1:${port}/other`, { validateStatus: () => true })).status).toBe(
        404,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("OPS-4: a worker process's /metrics merges the Temporal SDK's own metrics with ours", async () => {
    const tsx = path.resolve(__dirname, '..', 'node_modules', '.bin', 'tsx');
    const fixture = path.join(__dirname, 'fixtures', 'worker-metrics-check.ts');
    const { stdout } = await promisify(execFile)(tsx, [fixture, testEnv.temporalAddress], {
      timeout: 60_000,
    });
    const values = parse(stdout);
    // The SDK's client asked the server for its system info on connecting: a value, not just a name.
    expect(
      values.get('temporal_request{operation="GetSystemInfo",service_name="temporal-core-sdk"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(stdout).toContain('# TYPE sm8qbo_api_calls_total counter');
    expect(stdout).not.toContain('Temporal SDK metrics unavailable');
  });
});
