/**
 * What the demo commands look up in the simulators (a job by uuid or number, our QuickBooks invoice of a
 * job, payments on both sides) and how they report: each step's line as soon as it is done, `--json` one
 * object at the end.
 */
import { invoiceMarker } from '../../domain/invoice/plan';
import { CliError, ExitCode, type CliContext } from './context';
import { waitFor, type DemoOptions, type DemoSims, type Rec } from './demo-sims';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const active = (r: Rec) => String(r.active ?? '1') === '1';
/** A `$filter` in the query string: it must be sent as %24filter (a raw `$` is ignored, like the real API). */
export const filter = (f: string) => `%24filter=${encodeURIComponent(f)}`;
/** "1042 (5f1c…)": a job as the demo commands name it. */
export const label = (job: Rec) => `${String(job.generated_job_id)} (${String(job.uuid)})`;
export const took = (w: { seconds: string } | null) => (w ? ` after ${w.seconds} s` : '');

export class DemoWorld {
  constructor(
    private readonly ctx: CliContext,
    readonly sims: DemoSims,
    readonly opts: () => DemoOptions,
  ) {}

  /** Prints a step's outcome now (not with --json, which prints one object at the end). */
  step(line: string | null | false | undefined): void {
    if (line && !this.ctx.json) this.ctx.out(line);
  }

  /** The command's last lines, or with --json its one object. */
  done(json: unknown, lines: Array<string | null | false | undefined>): void {
    if (this.ctx.json) this.ctx.out(JSON.stringify(json, null, 2));
    else for (const l of lines) this.step(l);
  }

  /** A ServiceM8 job by uuid or job number ("1042"). */
  async job(ref: string): Promise<Rec> {
    const sm8 = await this.sims.sm8();
    if (UUID.test(ref)) {
      const found = await sm8.api.get<Rec>(`/job/${ref}.json`).catch((err: unknown) => {
        if (err instanceof CliError && err.exitCode === ExitCode.notFound) return null;
        throw err;
      });
      if (found?.data) return found.data;
    } else if (/^\d+$/.test(ref)) {
      const { data } = await sm8.api.get<Rec[]>(`/job.json?${filter(`generated_job_id eq '${ref}'`)}`);
      const job = data.find((j) => String(j.generated_job_id) === ref);
      if (job) return job;
    }
    throw new CliError(
      ExitCode.notFound,
      `no ServiceM8 job "${ref}" (a job uuid or number): \`sm8qbo demo jobs --all\` lists them`,
    );
  }

  /** The job as stored now (through the control API: waiting costs none of the API's budget). */
  async reread(uuid: string): Promise<Rec | undefined> {
    const { data } = await (await this.sims.sm8()).control.get<Rec[]>('/records/job');
    return data.find((j) => j.uuid === uuid);
  }

  /** Our QuickBooks invoice of the job (found by the marker the sync puts in its PrivateNote). */
  async qboInvoice(jobUuid: string): Promise<Rec | undefined> {
    return (await this.qboRecords('Invoice')).find((i) =>
      String(i.PrivateNote ?? '').includes(invoiceMarker(jobUuid)),
    );
  }

  async requireQboInvoice(job: Rec): Promise<Rec> {
    const invoice = await this.qboInvoice(String(job.uuid));
    if (invoice) return invoice;
    throw new CliError(
      ExitCode.notFound,
      `job ${label(job)} has no QuickBooks invoice yet: approve it (\`sm8qbo demo approve ${String(job.uuid)}\`); \`sm8qbo show demo ${String(job.uuid)}\` says why one is missing`,
    );
  }

  async qboRecords(entity: string): Promise<Rec[]> {
    const qbo = await this.sims.qbo();
    return (await qbo.control.get<Rec[]>(`/records/${entity}`, { params: qbo.realmParams })).data;
  }

  async sm8Payments(): Promise<Rec[]> {
    return (await (await this.sims.sm8()).control.get<Rec[]>('/records/jobpayment')).data;
  }

  /** Waits (unless --no-wait) and says how long the sync took; null when not waited for. */
  async follow<T>(what: string, hint: string, probe: () => Promise<T | null | undefined>) {
    if (!this.opts().wait) return null;
    return waitFor(this.ctx, this.opts(), what, hint, probe);
  }
}
