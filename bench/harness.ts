/**
 * What the end-to-end benchmarks share (bench/latency.ts, bench/budget.ts): the product started exactly as
 * `npm start` runs it, in a child process with its own ports, data folder and database; polling helpers; the
 * simulators' control APIs (the two apps' screens); and a meter of the simulators' call counters, so a
 * benchmark counts the product's own API calls (the control API is neither counted nor limited).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { dropDatabase } from '../infra/database';
import { freePort } from '../infra/ports';

export type Rec = Record<string, unknown>;
export const ROOT = path.resolve(__dirname, '..');

export function arg(argv: string[], name: string, fallback: number): number {
  const at = argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} takes a positive number`);
  return value;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it yields a value; returns it with the time it took from `t0`. */
export async function until<T>(
  what: string,
  t0: number,
  timeoutMs: number,
  probe: () => Promise<T | undefined | null | false>,
  everyMs = 25,
): Promise<{ value: T; ms: number }> {
  for (;;) {
    const value = await probe();
    const ms = performance.now() - t0;
    if (value) return { value, ms };
    if (ms > timeoutMs) throw new Error(`timed out after ${Math.round(ms)} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

export interface Product {
  child: ChildProcess;
  log: string[];
  ports: { api: number; sm8: number; qbo: number; temporal: number; ui: number };
  dataDir: string;
  databaseUrl: string;
  startupMs: number;
  /** The API with the admin token, and the simulators' control APIs (`/__sim`). */
  api: AxiosInstance;
  sm8: AxiosInstance;
  qbo: AxiosInstance;
  stop(): Promise<void>;
}

/**
 * `npm start` in a child process with its own ports, data folder and database. `beforeReady` runs as soon
 * as both simulators answer (before the product connects the demo: the moment to shape the worlds).
 */
export async function startProduct(
  name: string,
  beforeReady?: (sims: { sm8: AxiosInstance; qbo: AxiosInstance }) => Promise<void>,
  extraEnv: Record<string, string> = {},
): Promise<Product> {
  const [api, sm8, qbo, temporal, ui] = await Promise.all(Array.from({ length: 5 }, () => freePort()));
  const ports = { api, sm8, qbo, temporal, ui } as Product['ports'];
  const dataDir = path.join(ROOT, '.data', `bench-${name}-${process.pid}`);
  const databaseUrl =
    process.env.BENCH_DATABASE_URL ?? `postgres://postgres@127.0.0.1:5432/sm8qbo_bench_${Date.now()}`;
  const env = {
    PORT: String(ports.api),
    SM8_SIM_PORT: String(ports.sm8),
    QBO_SIM_PORT: String(ports.qbo),
    TEMPORAL_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'info',
    ...extraEnv,
  };
  const sims = {
    sm8: axios.create({ baseURL: `http://127.0.0.1:${ports.sm8}/__sim` }),
    qbo: axios.create({ baseURL: `http://127.0.0.1:${ports.qbo}/__sim` }),
  };
  const startedAt = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/start.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  const stop = async () => {
    await stopChild(child);
    await dropDatabase(databaseUrl).catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start not ready in 180 s:\n${log.join('')}`)),
      180_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      log.push(chunk.toString());
      if (/\bready\b/.test(chunk.toString())) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${String(code)}) before ready:\n${log.join('')}`));
    });
  });
  try {
    if (beforeReady) {
      await until('the simulators', performance.now(), 120_000, async () => {
        const up = await Promise.all([sims.sm8.get('/settings'), sims.qbo.get('/stats')]).catch(() => null);
        return up !== null;
      });
      await beforeReady(sims);
    }
    await ready;
  } catch (err) {
    await stop();
    throw err;
  }
  const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  return {
    child,
    log,
    ports,
    dataDir,
    databaseUrl,
    startupMs: performance.now() - startedAt,
    api: axios.create({
      baseURL: `http://127.0.0.1:${ports.api}`,
      headers: { Authorization: `Bearer ${token}` },
    }),
    ...sims,
    stop,
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  await Promise.race([exited, sleep(30_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** The demo connection's onboarding progress once it is done (CM-1), with the records it imported. */
export async function onboardingDone(
  api: AxiosInstance,
  timeoutMs: number,
): Promise<{ progress: Rec; imported: number; ms: number }> {
  const r = await until(
    'the demo onboarding',
    performance.now(),
    timeoutMs,
    async () => {
      const res = await api.get<{ progress: Rec | null }>('/admin/connections/demo/onboarding');
      return res.data.progress?.state === 'done' ? res.data.progress : null;
    },
    500,
  );
  const phases = r.value.phases as Array<{ phase: string; total: number }>;
  const imported = phases.filter((p) => p.phase !== 'taxcodes').reduce((n, p) => n + (p.total ?? 0), 0);
  const ms = Date.parse(String(r.value.finishedAt)) - Date.parse(String(r.value.startedAt));
  return { progress: r.value, imported, ms };
}

/** One reading of both simulators' call counters (every request they answered; `/__sim` excluded). */
export interface Reading {
  at: number;
  sm8: { total: number; r429: number; byEndpoint: Record<string, number> };
  qbo: { total: number; r429: number; byEndpoint: Record<string, number> };
  /** The product's own count of the calls its poll passes made so far (its /metrics), given the product. */
  poll?: { sm8: number; qbo: number };
}

/** The calls the product's poll passes made so far, by system (`sm8qbo_api_calls_total`, their workflow). */
async function pollCalls(product: AxiosInstance): Promise<{ sm8: number; qbo: number }> {
  const text = (await product.get<string>('/metrics', { responseType: 'text' })).data;
  const out = { sm8: 0, qbo: 0 };
  for (const line of text.split('\n')) {
    if (!line.startsWith('sm8qbo_api_calls_total{') || !line.includes('workflow="pollConnectionWorkflow"'))
      continue;
    const n = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.includes('system="servicem8"')) out.sm8 += n;
    else out.qbo += n;
  }
  return out;
}

export async function readCounters(
  sm8: AxiosInstance,
  qbo: AxiosInstance,
  product?: AxiosInstance,
): Promise<Reading> {
  const poll = product ? await pollCalls(product) : undefined;
  const [s, q] = await Promise.all([
    sm8.get<{
      total: number;
      rateLimited: number;
      byStatus: Record<string, number>;
      byEndpoint: Record<string, number>;
    }>('/stats'),
    qbo.get<{ perEndpoint: Record<string, number>; throttled: number }>('/stats'),
  ]);
  const qTotal = Object.values(q.data.perEndpoint).reduce((n, v) => n + v, 0);
  return {
    at: performance.now(),
    sm8: { total: s.data.total, r429: s.data.byStatus['429'] ?? 0, byEndpoint: s.data.byEndpoint },
    qbo: { total: qTotal, r429: q.data.throttled, byEndpoint: q.data.perEndpoint },
    poll,
  };
}

export interface Delta {
  seconds: number;
  sm8: number;
  qbo: number;
  sm8Writes: number;
  sm8ByEndpoint: Record<string, number>;
  qboByEndpoint: Record<string, number>;
  /** Of those, the product's poll passes' own (0 when either reading did not ask the product). */
  pollSm8: number;
  pollQbo: number;
}

function diff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) if (v - (a[k] ?? 0) > 0) out[k] = v - (a[k] ?? 0);
  return out;
}

export function delta(a: Reading, b: Reading): Delta {
  const sm8ByEndpoint = diff(a.sm8.byEndpoint, b.sm8.byEndpoint);
  const sm8Writes = Object.entries(sm8ByEndpoint)
    .filter(([k]) => /^(POST|PUT|DELETE) \/api_1\.0\//.test(k))
    .reduce((n, [, v]) => n + v, 0);
  return {
    seconds: (b.at - a.at) / 1000,
    sm8: b.sm8.total - a.sm8.total,
    qbo: b.qbo.total - a.qbo.total,
    sm8Writes,
    sm8ByEndpoint,
    qboByEndpoint: diff(a.qbo.byEndpoint, b.qbo.byEndpoint),
    pollSm8: b.poll ? b.poll.sm8 - (a.poll?.sm8 ?? 0) : 0,
    pollQbo: b.poll ? b.poll.qbo - (a.poll?.qbo ?? 0) : 0,
  };
}

/** The largest endpoints of a delta, for a reader who wants to know where the calls went. */
export function topEndpoints(counts: Record<string, number>, n = 5): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
}

/** API calls waiting for a permit in the product right now (its /metrics), or 0 without the product. */
async function permitWaiters(product: AxiosInstance | undefined): Promise<number> {
  if (!product) return 0;
  const text = (await product.get<string>('/metrics', { responseType: 'text' })).data;
  return text
    .split('\n')
    .filter((l) => l.startsWith('sm8qbo_permit_waiters{'))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/**
 * Waits until neither simulator has answered a call for `quietMs` (at most `capMs`) and, given the product's
 * API, no call waits for a permit (a full minute window is silent, not done); returns the reading taken when
 * the calls last moved, so the quiet stretch itself is not counted.
 */
export async function untilQuiet(
  sm8: AxiosInstance,
  qbo: AxiosInstance,
  quietMs: number,
  capMs: number,
  product?: AxiosInstance,
): Promise<{ reading: Reading; quiet: boolean }> {
  const start = performance.now();
  let last = await readCounters(sm8, qbo, product);
  let movedAt = last;
  for (;;) {
    await sleep(1000);
    const now = await readCounters(sm8, qbo, product);
    const waiting = await permitWaiters(product);
    if (now.sm8.total !== last.sm8.total || now.qbo.total !== last.qbo.total || waiting > 0) movedAt = now;
    last = now;
    if (now.at - movedAt.at >= quietMs) return { reading: movedAt, quiet: true };
    if (now.at - start >= capMs) return { reading: now, quiet: false };
  }
}

/**
 * Waits until ServiceM8's budget has had headroom (under half of 180 calls in the last 60 s, from the
 * simulator's counters) for 15 s in a row: the steady state, not the tail of an import.
 */
export async function untilSettled(sm8: AxiosInstance, qbo: AxiosInstance, capMs: number): Promise<number> {
  const start = performance.now();
  const readings: Reading[] = [await readCounters(sm8, qbo)];
  let headroomSince: number | null = null;
  for (;;) {
    await sleep(1000);
    const now = await readCounters(sm8, qbo);
    readings.push(now);
    if (now.at - start > capMs) return now.at - start;
    // Judged on a whole minute of readings: an extrapolated first few seconds can look idle mid-import.
    if (now.at - (readings[0] as Reading).at < 60_000) continue;
    const minuteAgo = readings.find((r) => r.at >= now.at - 60_000) ?? now;
    const inLastMinute = now.sm8.total - minuteAgo.sm8.total;
    if (inLastMinute < 90) headroomSince ??= now.at;
    else headroomSince = null;
    if (headroomSince !== null && now.at - headroomSince >= 15_000) return now.at - start;
  }
}
