/**
 * The README's "Play both users" steps, each one `sm8qbo demo …` command, against both simulators seeded
 * with the demo world and the product receiving their webhooks: every command prints the ids the next
 * one needs and waits until the sync has carried its change to the other program. The demo commands find
 * the simulators as `npm start` runs them (SM8_SIM_PORT, QBO_SIM_PORT) and refuse anything else.
 */
import crypto from 'node:crypto';
import { runCli } from '../client/cli';
import { invoiceMarker } from '../domain/invoice/plan';
import { freePort } from '../infra/ports';
import type { Json } from '../simulators/quickbooks/types';
import { startWorld, type World } from './helpers/world';
import { waitFor } from './helpers/wait';

const CONN = 'clidemo';
const TOKEN = 'admin-test-token-cli-demo-0123456789';
/**
 * Nothing on stderr, or only the one notice a demo step prints when the sync takes over 3 s (a loaded machine):
 * a progress line, not an error.
 */
const quietOrWaiting = expect.stringMatching(/^(|waiting for [^\n]+ \(up to \d+ s; [^\n]+\))$/);

let w: World;
let realm: string;
let simEnv: NodeJS.ProcessEnv;

type Result = { code: number; out: string; err: string };

async function run(env: NodeJS.ProcessEnv, args: string[]): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, (s) => out.push(s), { env, err: (s) => err.push(s), pollIntervalMs: 100 });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
const demo = (...args: string[]) => run(simEnv, ['demo', ...args]);
const admin = (...args: string[]) => run(simEnv, ['--url', w.apiUrl, ...args]);

const sm8Job = (uuid: string) =>
  w.sm8.store.list('job').find((j) => j.uuid === uuid) as Record<string, unknown>;
const qboRecords = (entity: string) => w.qbo.store.list(entity as never, realm) as Json[];

beforeAll(async () => {
  // The simulator's own company is the demo's, under a realm id of this file (the test database is shared).
  realm = `9341${String(crypto.randomInt(0, 1e12)).padStart(12, '0')}`;
  w = await startWorld({
    webhooks: true,
    qbo: { seedDemo: true, realmId: realm },
    sm8: { seedDemo: true },
    env: { ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'error' },
  });
  await w.connect(CONN, { realmId: realm });
  simEnv = {
    ...process.env,
    ADMIN_TOKEN: TOKEN,
    SIMULATORS: 'auto',
    SM8_SIM_PORT: new URL(w.sm8.url).port,
    QBO_SIM_PORT: new URL(w.qbo.url).port,
  };
}, 120_000);
afterAll(async () => {
  await w?.close();
});

describe('OPS-2: the demo commands play both users', () => {
  let job: string;
  let jobNumber: string;
  let qboPaymentId: string;

  it('OPS-2: demo jobs lists the completed jobs not approved yet (uuid, number, client, total); -q the uuids', async () => {
    const listed = await demo('jobs');
    expect(listed.code).toBe(0);
    const lines = listed.out.split('\n');
    expect(lines[0]).toMatch(/^uuid\s+job\s+client\s+total$/);
    const waiting = w.sm8.store
      .list('job')
      .filter(
        (j) => j.status === 'Completed' && String(j.payment_processed) === '0' && String(j.active) === '1',
      );
    expect(lines.slice(2)).toHaveLength(waiting.length);
    expect(waiting.length).toBeGreaterThan(0);
    const quiet = await demo('jobs', '-q');
    expect(quiet.out.split('\n').sort()).toEqual(waiting.map((j) => String(j.uuid)).sort());
    job = quiet.out.split('\n')[0] as string;
    jobNumber = String(sm8Job(job).generated_job_id);
    expect(listed.out).toMatch(new RegExp(`^${job} {2}${jobNumber} +\\S.* +[\\d,]+\\.\\d\\d$`, 'm'));
  });

  it('OPS-2: demo approve approves the job and prints the QuickBooks invoice once the sync has made it', async () => {
    const r = await demo('approve', job);
    expect(r).toMatchObject({ code: 0, err: quietOrWaiting });
    const invoice = qboRecords('Invoice').find((i) => String(i.PrivateNote).includes(invoiceMarker(job)));
    expect(invoice).toBeDefined();
    expect(r.out.split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(`^approved: ServiceM8 job ${jobNumber} \\(${job}\\), total [\\d,.]+$`),
      ),
      expect.stringMatching(
        new RegExp(
          `^QuickBooks invoice ${String(invoice?.Id)} \\(DocNumber \\S+, total [\\d,.]+\\) after \\d+\\.\\d s$`,
        ),
      ),
    ]);
    expect(String(sm8Job(job).payment_processed)).toBe('1');
    // The CLI saw the QuickBooks invoice; the sync records it right after: `show` has it once recorded.
    const shown = await waitFor('show to name the QuickBooks invoice', async () => {
      const out = (await admin('show', CONN, job)).out;
      return out.includes('  QuickBooks   invoice ') && out;
    });
    expect(shown).toContain(`  QuickBooks   invoice ${String(invoice?.Id)}\n`);
  });

  it("OPS-2: demo add-line (by job number) adds a line with the job's tax rate and waits for the re-synced total", async () => {
    const before = Math.round(Number(sm8Job(job).total_invoice_amount) * 100);
    const r = await demo('add-line', jobNumber, '--name', 'Extra part', '--price', '25');
    expect(r).toMatchObject({ code: 0, err: quietOrWaiting });
    const after = Math.round(Number(sm8Job(job).total_invoice_amount) * 100);
    expect(after - before).toBe(2750); // 25.00 + 10 % GST, the demo jobs' rate
    const invoice = qboRecords('Invoice').find((i) => String(i.PrivateNote).includes(invoiceMarker(job)));
    expect(Math.round(Number(invoice?.TotalAmt) * 100)).toBe(after);
    expect(r.out).toMatch(
      /^added "Extra part" 1 × 25.00 \(tax GST\) to job \d+ \(.*\): ServiceM8 total now [\d,.]+$/m,
    );
    expect(r.out).toMatch(
      new RegExp(`^QuickBooks invoice ${String(invoice?.Id)} re-synced: total [\\d,.]+ after`, 'm'),
    );
  });

  it('OPS-2: demo qbo-invoice shows the invoice; demo print marks it printed and waits for invoice_sent in ServiceM8', async () => {
    const shown = await demo('qbo-invoice', job);
    expect(shown.code).toBe(0);
    const id = /^Invoice +(\d+)$/m.exec(shown.out)?.[1];
    expect(id).toBeDefined();
    expect(shown.out).toMatch(/^Printed +NotSet$/m);
    const printed = await demo('print', job);
    expect(printed).toMatchObject({ code: 0, err: quietOrWaiting });
    expect(printed.out).toMatch(
      new RegExp(
        `^QuickBooks invoice ${id} marked printed\nServiceM8 job ${jobNumber} .*: invoice_sent = 1 after`,
      ),
    );
    expect(String(sm8Job(job).invoice_sent)).toBe('1');
  });

  it('OPS-2: demo pay-qbo records a QuickBooks payment and waits for its ServiceM8 copy; delete-qbo-payment removes both', async () => {
    const paid = await demo('pay-qbo', job, '20');
    expect(paid).toMatchObject({ code: 0, err: quietOrWaiting });
    qboPaymentId = /^QuickBooks payment (\d+) of 20\.00 on invoice/.exec(paid.out)?.[1] as string;
    expect(qboPaymentId).toBeDefined();
    const copy = /^ServiceM8 payment (\S+) of 20\.00 on job/m.exec(paid.out)?.[1] as string;
    const stored = w.sm8.store.list('jobpayment').find((p) => p.uuid === copy);
    expect(stored).toMatchObject({ job_uuid: job, active: 1 });

    const deleted = await demo('delete-qbo-payment', qboPaymentId);
    expect(deleted).toMatchObject({ code: 0, err: quietOrWaiting });
    expect(deleted.out).toMatch(
      new RegExp(`^QuickBooks payment ${qboPaymentId} deleted\nServiceM8 payment ${copy} deleted after`),
    );
    expect(qboRecords('Payment').find((p) => p.Id === qboPaymentId)).toBeUndefined();
    expect(w.sm8.store.list('jobpayment').find((p) => p.uuid === copy)?.active).toBe(0);
  });

  it('OPS-2: demo pay-sm8 records a ServiceM8 payment and waits for its QuickBooks copy', async () => {
    const r = await demo('pay-sm8', job, '50');
    expect(r).toMatchObject({ code: 0, err: quietOrWaiting });
    const uuid = /^ServiceM8 payment (\S+) of 50\.00 on job/.exec(r.out)?.[1] as string;
    const qboId = /^QuickBooks payment (\d+) of 50\.00 after/m.exec(r.out)?.[1];
    expect(qboRecords('Payment').find((p) => p.Id === qboId)?.PrivateNote).toContain(uuid);
  });

  it("OPS-2: demo rename-client renames the job's client and waits for its QuickBooks customer", async () => {
    const r = await demo('rename-client', job, 'New Name Pty Ltd');
    expect(r).toMatchObject({ code: 0, err: quietOrWaiting });
    const customerId = /^QuickBooks customer (\d+) renamed after/m.exec(r.out)?.[1];
    expect(qboRecords('Customer').find((c) => c.Id === customerId)?.DisplayName).toBe('New Name Pty Ltd');
  });

  it('OPS-2: an unknown job is exit 3 with where to find one; bad amounts are usage errors', async () => {
    expect(await demo('approve', '99999')).toEqual({
      code: 3,
      out: '',
      err: 'error: no ServiceM8 job "99999" (a job uuid or number): `sm8qbo demo jobs --all` lists them',
    });
    expect(await demo('pay-sm8', job, 'lots')).toMatchObject({
      code: 2,
      err: 'error: <amount> must be an amount like 25 or 25.50, got "lots"',
    });
  });
});

describe('OPS-2: the demo commands refuse anything but the simulators', () => {
  it('OPS-2: SIMULATORS=false (real mode) is refused before anything is sent', async () => {
    const r = await run({ ...simEnv, SIMULATORS: 'false', QBO_CLIENT_ID: 'x', QBO_CLIENT_SECRET: 'y' }, [
      'demo',
      'jobs',
    ]);
    expect(r).toEqual({
      code: 2,
      out: '',
      err: 'error: SIMULATORS=false is real mode: the demo commands only drive the simulators, never the real ServiceM8 and QuickBooks',
    });
  });

  it('OPS-2: an address without the /__sim control API is not driven; one where nothing answers says how to start it', async () => {
    expect(await demo('--sm8-url', w.apiUrl, 'approve', '1')).toEqual({
      code: 1,
      out: '',
      err: `error: ${w.apiUrl} is not the ServiceM8 simulator (no /__sim control API there): the demo commands only drive the simulators, never the real ServiceM8`,
    });
    const port = await freePort();
    expect(await run({ ...simEnv, SM8_SIM_PORT: String(port) }, ['demo', 'jobs'])).toEqual({
      code: 1,
      out: '',
      err: `error: cannot reach the ServiceM8 simulator at http://127.0.0.1:${port}: the demo commands need \`npm start\` running with the simulators (or \`npm run sim\`); set --sm8-url or SM8_SIM_PORT`,
    });
  });
});
