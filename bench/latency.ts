/**
 * End-to-end latency benchmark (docs/benchmarks.md): how long each kind of change takes to reach the other
 * program, measured from outside, on the product exactly as `npm start` runs it: its own Temporal dev server,
 * a fresh PostgreSQL database, the worker, the HTTP API with its webhook inbox, and both simulators with the
 * demo world and real webhooks (the demo connection is made through the real connect flows and onboarded).
 *
 *   npx tsx bench/latency.ts [--samples 5] [--timeout-seconds 60]
 *
 * The two users are played through the simulators' control APIs (as in the ServiceM8 and QuickBooks UIs,
 * which fire webhooks); each sample waits until the other program's record shows the change. Onboarding
 * (CM-1) is measured on the way, from its own progress record. Printed: one row per flow with every sample,
 * the median and the maximum. Exit code 0 = every sample arrived, 1 = a sample timed out, 2 = the
 * benchmark itself failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import axios from 'axios';
import { createPool, dropDatabase } from '../infra/database';
import { freePort } from '../infra/ports';

type Rec = Record<string, unknown>;
const ROOT = path.resolve(__dirname, '..');

function arg(argv: string[], name: string, fallback: number): number {
  const at = argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} takes a positive number`);
  return value;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 25 ms until it yields a value; returns it with the time it took from `t0`. */
async function until<T>(
  what: string,
  t0: number,
  timeoutMs: number,
  probe: () => Promise<T | undefined | null | false>,
): Promise<{ value: T; ms: number }> {
  for (;;) {
    const value = await probe();
    const ms = performance.now() - t0;
    if (value) return { value, ms };
    if (ms > timeoutMs) throw new Error(`timed out after ${Math.round(ms)} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** `npm start` in a child process with its own ports, data folder and database; resolves once it is ready. */
async function startProduct(env: Record<string, string>): Promise<{ child: ChildProcess; log: string[] }> {
  const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['workers/start.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start not ready in 180 s:\n${log.join('')}`)),
      180_000,
    );
    const onData = (chunk: Buffer) => {
      log.push(chunk.toString());
      if (/\bready\b/.test(chunk.toString())) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${String(code)}) before ready:\n${log.join('')}`));
    });
  });
  return { child, log };
}

async function stopProduct(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  await Promise.race([exited, sleep(30_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export async function runLatencyBench(argv: string[]): Promise<number> {
  const samples = arg(argv, 'samples', 5);
  const timeoutMs = arg(argv, 'timeout-seconds', 60) * 1000;
  const [apiPort, sm8Port, qboPort, temporalPort, uiPort] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  const dataDir = path.join(ROOT, '.data', `bench-latency-${process.pid}`);
  const databaseUrl =
    process.env.BENCH_DATABASE_URL ?? `postgres://postgres@127.0.0.1:5432/sm8qbo_bench_${Date.now()}`;
  const env = {
    PORT: String(apiPort),
    SM8_SIM_PORT: String(sm8Port),
    QBO_SIM_PORT: String(qboPort),
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'info',
  };
  const startedAt = performance.now();
  const { child, log } = await startProduct(env);
  const startupMs = performance.now() - startedAt;
  const results = new Map<string, number[]>();
  const failures: string[] = [];
  try {
    const api = axios.create({
      baseURL: `http://127.0.0.1:${apiPort}`,
      headers: {
        Authorization: `Bearer ${fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim()}`,
      },
    });
    const sm8 = axios.create({ baseURL: `http://127.0.0.1:${sm8Port}/__sim` });
    const qbo = axios.create({ baseURL: `http://127.0.0.1:${qboPort}/__sim` });
    const sm8List = async (object: string) => (await sm8.get<Rec[]>(`/records/${object}`)).data;
    const qboList = async (entity: string) => (await qbo.get<Rec[]>(`/records/${entity}`)).data;

    // CM-1: the demo connection's onboarding, from its own progress record.
    const onboarding = await until('the demo onboarding', performance.now(), 600_000, async () => {
      const r = await api.get<{ progress: Rec | null }>('/admin/connections/demo/onboarding');
      return r.data.progress?.state === 'done' ? r.data.progress : null;
    });
    const phases = onboarding.value.phases as Array<{ phase: string; total: number }>;
    const imported = phases.filter((p) => p.phase !== 'taxcodes').reduce((n, p) => n + p.total, 0);
    const onboardingMs =
      Date.parse(String(onboarding.value.finishedAt)) - Date.parse(String(onboarding.value.startedAt));

    // Onboarded records echo back as webhooks that their owners verify (CM-2), and at ServiceM8's 180 calls
    // a minute that keeps the connection's ServiceM8 budget full for a while after the import. Latency is
    // measured once the budget has had headroom (under half of it used in the last minute, read from the
    // governor's own permits) for 15 s in a row: the steady state, not the tail of the import.
    const pool = createPool(databaseUrl, 1);
    const settleStart = performance.now();
    let headroomSince: number | null = null;
    try {
      for (;;) {
        const r = await pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM rate_permits
            WHERE connection_id = 'demo' AND api = 'sm8' AND granted_at > now() - interval '60 seconds'`,
        );
        if (Number(r.rows[0]?.n ?? 0) < 90) headroomSince ??= performance.now();
        else headroomSince = null;
        if (headroomSince !== null && performance.now() - headroomSince >= 15_000) break;
        if (performance.now() - settleStart > 1_200_000)
          throw new Error('the ServiceM8 budget stayed full for 20 minutes after onboarding');
        await sleep(1000);
      }
    } finally {
      await pool.end();
    }
    const settledMs = (headroomSince ?? performance.now()) - settleStart;

    const gst = (await sm8List('taxrate')).find((t) => t.name === 'GST' && Number(t.active) === 1);
    if (!gst) throw new Error('the demo world has no active GST tax rate in ServiceM8');
    const record = (flow: string, ms: number) => results.set(flow, [...(results.get(flow) ?? []), ms]);

    for (let i = 1; i <= samples; i += 1) {
      const tag = `${crypto.randomBytes(3).toString('hex')}`;
      try {
        // A ServiceM8 user finishes a job for a new client and approves it (INV-1, INV-5).
        const company = crypto.randomUUID();
        await sm8.post('/records/company', { uuid: company, name: `Bench Client ${tag}`, active: 1 });
        await sm8.post('/records/companycontact', {
          uuid: crypto.randomUUID(),
          company_uuid: company,
          first: 'Bench',
          email: `bench-${tag}@example.com`,
          type: 'BILLING',
          is_primary_contact: '1',
          active: 1,
        });
        const job = crypto.randomUUID();
        await sm8.post('/records/job', {
          uuid: job,
          status: 'Completed',
          company_uuid: company,
          completion_date: '2026-11-20 15:30:00',
          payment_processed: 0,
          active: 1,
        });
        await sm8.post('/records/jobmaterial', {
          uuid: crypto.randomUUID(),
          job_uuid: job,
          name: `Bench labour ${tag}`,
          quantity: '2',
          price: '85.00',
          tax_rate_uuid: gst.uuid,
          sort_order: '1',
          active: 1,
        });
        let t0 = performance.now();
        await sm8.post(`/records/job/${job}`, { payment_processed: 1 });
        const invoice = await until('the QuickBooks invoice', t0, timeoutMs, async () =>
          (await qboList('Invoice')).find((inv) => String(inv.PrivateNote ?? '').includes(job)),
        ).catch(async (err: unknown) => {
          const state = await api
            .get(`/admin/records/demo/${job}`)
            .catch((e: unknown) => ({ data: String(e) }));
          throw new Error(`${String(err)}; the record: ${JSON.stringify(state.data).slice(0, 1500)}`);
        });
        record('SM8 approval -> QBO invoice (INV-1)', invoice.ms);
        const invoiceId = String(invoice.value.Id);

        // The bookkeeper prints it in QuickBooks (INV-7).
        t0 = performance.now();
        await qbo.post(`/invoices/${invoiceId}/printed`);
        const sent = await until('invoice_sent in ServiceM8', t0, timeoutMs, async () =>
          (await sm8List('job')).some((j) => j.uuid === job && Number(j.invoice_sent) === 1),
        );
        record('QBO printed -> SM8 invoice_sent (INV-7)', sent.ms);

        // The tradesperson records a payment in ServiceM8 (PAY-1).
        const payment = crypto.randomUUID();
        t0 = performance.now();
        await sm8.post('/records/jobpayment', {
          uuid: payment,
          job_uuid: job,
          amount: '50.00',
          method: 'Cash',
          timestamp: '2026-11-21 09:00:00',
          active: 1,
        });
        const sentPayment = await until('the QuickBooks payment', t0, timeoutMs, async () =>
          (await qboList('Payment')).find((p) => String(p.PrivateNote ?? '').includes(payment)),
        );
        record('SM8 payment -> QBO payment (PAY-1)', sentPayment.ms);

        // The bookkeeper receives the rest in QuickBooks (PAY-2).
        t0 = performance.now();
        const received = (
          await qbo.post<Rec>('/records/Payment', {
            CustomerRef: invoice.value.CustomerRef,
            TotalAmt: 20,
            TxnDate: '2026-11-22',
            Line: [{ Amount: 20, LinkedTxn: [{ TxnId: invoiceId, TxnType: 'Invoice' }] }],
          })
        ).data;
        await until('the ServiceM8 payment', t0, timeoutMs, async () =>
          (await sm8List('jobpayment')).some(
            (p) => p.job_uuid === job && String(p.note ?? '').includes(`qbo:payment:${String(received.Id)}`),
          ),
        );
        record('QBO payment -> SM8 payment (PAY-2)', performance.now() - t0);

        // The bookkeeper renames the customer in QuickBooks (CM-2), then the office renames it in ServiceM8.
        const customerId = String((invoice.value.CustomerRef as Rec).value);
        const customer = (await qbo.get<Rec>(`/records/Customer/${customerId}`)).data;
        const qboName = `Bench Client ${tag} Pty Ltd`;
        t0 = performance.now();
        await qbo.post('/records/Customer', { ...customer, DisplayName: qboName });
        await until('the ServiceM8 company name', t0, timeoutMs, async () =>
          (await sm8List('company')).some((c) => c.uuid === company && c.name === qboName),
        );
        record('QBO customer edit -> SM8 company (CM-2)', performance.now() - t0);

        const sm8Name = `Bench Client ${tag} Holdings`;
        t0 = performance.now();
        await sm8.post(`/records/company/${company}`, { name: sm8Name });
        await until('the QuickBooks customer name', t0, timeoutMs, async () => {
          const c = (await qbo.get<Rec>(`/records/Customer/${customerId}`)).data;
          return c.DisplayName === sm8Name;
        });
        record('SM8 company edit -> QBO customer (CM-2)', performance.now() - t0);
      } catch (err) {
        failures.push(`sample ${i}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }

    const rows = [...results.entries()].map(([flow, ms]) => ({
      flow,
      n: ms.length,
      median: Math.round(median(ms)),
      max: Math.round(Math.max(...ms)),
      all: ms.map((x) => Math.round(x)).join(' '),
    }));
    const width = Math.max(...rows.map((r) => r.flow.length), 4);
    const out = [
      `End-to-end latency, product as \`npm start\` runs it (webhooks on), ${samples} sample(s) per flow`,
      `  startup to "ready": ${Math.round(startupMs)} ms; onboarding (CM-1) of ${imported} QuickBooks customers and items: ${Math.round(onboardingMs / 1000)} s; the ServiceM8 budget had headroom again ${Math.round(settledMs / 1000)} s later`,
      `  ${'flow'.padEnd(width)}  n  median ms  max ms  samples (ms)`,
      `  ${'-'.repeat(width)}  -  ---------  ------  ------------`,
      ...rows.map(
        (r) =>
          `  ${r.flow.padEnd(width)}  ${r.n}  ${String(r.median).padStart(9)}  ${String(r.max).padStart(6)}  ${r.all}`,
      ),
      ...failures.map((f) => `  FAILED ${f}`),
    ];
    console.log(out.join('\n'));
    return failures.length ? 1 : 0;
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    console.error(log.slice(-20).join(''));
    return 2;
  } finally {
    await stopProduct(child);
    await dropDatabase(databaseUrl).catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) void runLatencyBench(process.argv.slice(2)).then((code) => process.exit(code));
