/**
 * `sm8qbo demo …`: play both users of the demo (README "Play both users") against the simulators, one
 * command per step, each printing the ids the next step needs and waiting (by default) until the sync has
 * carried the change to the other program. ServiceM8 is driven through its API (as its app would),
 * QuickBooks through the simulator's control API (the Intuit UI's actions) and, to delete a payment, its
 * Accounting API. Never the product's own database or workflows.
 */
import type { Command } from 'commander';
import { qboSafeName } from '../../domain/names';
import { examples } from './admin';
import { CliError, ExitCode, type CliContext } from './context';
import { registerDemoPaymentCommands } from './demo-payments';
import { amountArg, cents, demoSims, type DemoOptions, type Rec } from './demo-sims';
import { active, DemoWorld, filter, label, took } from './demo-world';
import { labelled, money, table } from './output';

export function registerDemoCommands(program: Command, ctx: CliContext): void {
  const group = program
    .command('demo')
    .description('play both users of the demo against the simulators (README: "Play both users")')
    .option('--sm8-url <url>', 'the ServiceM8 simulator (default http://127.0.0.1:$SM8_SIM_PORT, 4010)')
    .option('--qbo-url <url>', 'the QuickBooks simulator (default http://127.0.0.1:$QBO_SIM_PORT, 4020)')
    .option('--realm <id>', "the QuickBooks company (default: the simulator's own, the demo's)")
    .option('--no-wait', 'do not wait for the sync to carry the change to the other program')
    .option('--timeout <seconds>', 'how long to wait for the sync (default 180)');
  group.addHelpText(
    'after',
    '\nThey drive the simulators only (their /__sim control API must answer; SIMULATORS=false is refused).\nA <job> is a ServiceM8 job uuid or job number. Steps in order: README, "Play both users".\n',
  );
  const opts = () => group.opts<DemoOptions>();
  const demo = new DemoWorld(ctx, demoSims(ctx, opts), opts);

  examples(
    group
      .command('jobs')
      .description('completed ServiceM8 jobs not approved yet: uuid, number, client, total')
      .option('--all', 'every active job, with its status and whether it is approved')
      .option('-q, --quiet', 'print the uuids only')
      .action(async (o: { all?: boolean; quiet?: boolean }) => {
        const sm8 = await demo.sims.sm8();
        const query = o.all ? '' : `?${filter("status eq 'Completed' and payment_processed eq 0")}`;
        const [jobs, companies] = await Promise.all([
          sm8.api.get<Rec[]>(`/job.json${query}`),
          sm8.api.get<Rec[]>('/company.json'),
        ]);
        const names = new Map(companies.data.map((c) => [c.uuid, String(c.name)]));
        const rows = jobs.data.filter(active).map((j) => ({
          uuid: j.uuid,
          job: j.generated_job_id,
          client: names.get(j.company_uuid) ?? '',
          totalCents: cents(j.total_invoice_amount),
          status: j.status,
          approved: String(j.payment_processed) === '1',
        }));
        if (o.quiet) ctx.out(rows.map((r) => r.uuid).join('\n'));
        else if (ctx.json) ctx.out(JSON.stringify(rows, null, 2));
        else if (!rows.length)
          ctx.out('no completed job is waiting for approval: `sm8qbo demo jobs --all` lists every job');
        else {
          const columns = ['uuid', 'job', 'client', 'total', ...(o.all ? ['status', 'approved'] : [])];
          const shown = rows.map((r) => ({
            ...r,
            total: money(r.totalCents),
            approved: r.approved ? 'yes' : 'no',
          }));
          ctx.out(table(shown, columns, { width: ctx.io.columns }));
        }
      }),
    ['sm8qbo demo jobs', 'JOB=$(sm8qbo demo jobs -q | head -n1)', 'sm8qbo demo jobs --all'],
  );

  examples(
    group
      .command('approve')
      .description('ServiceM8 user: approve a job (its invoice goes to QuickBooks); prints the invoice Id')
      .argument('<job>', 'job uuid or number')
      .action(async (ref: string) => {
        const job = await demo.job(ref);
        const uuid = String(job.uuid);
        const already = String(job.payment_processed) === '1';
        if (!already) await (await demo.sims.sm8()).api.post(`/job/${uuid}.json`, { payment_processed: 1 });
        demo.step(
          `${already ? 'already approved' : 'approved'}: ServiceM8 job ${label(job)}, total ${money(cents(job.total_invoice_amount))}`,
        );
        const w = await demo.follow(
          `the QuickBooks invoice of job ${label(job)}`,
          `\`sm8qbo show demo ${uuid}\` says where it is (a blocked invoice has a reason)`,
          () => demo.qboInvoice(uuid),
        );
        const inv = w?.value;
        demo.done({ jobUuid: uuid, job: job.generated_job_id, qboInvoiceId: inv?.Id ?? null }, [
          inv &&
            `QuickBooks invoice ${String(inv.Id)} (DocNumber ${String(inv.DocNumber)}, total ${money(cents(inv.TotalAmt))})${took(w)}`,
        ]);
      }),
    ['sm8qbo demo approve $JOB', 'sm8qbo demo approve 1042 --no-wait'],
  );

  examples(
    group
      .command('add-line')
      .description("ServiceM8 user: add a line to a job, with the job's tax rate (the invoice is re-synced)")
      .argument('<job>', 'job uuid or number')
      .requiredOption('--name <name>', 'what the line is')
      .requiredOption('--price <amount>', 'unit price, excluding tax')
      .option('--quantity <n>', 'quantity', '1')
      .action(async (ref: string, o: { name: string; price: string; quantity: string }) => {
        const price = amountArg('--price', o.price);
        const quantity = amountArg('--quantity', o.quantity);
        const job = await demo.job(ref);
        const uuid = String(job.uuid);
        const sm8 = await demo.sims.sm8();
        const [lines, rates] = await Promise.all([
          sm8.api.get<Rec[]>(`/jobmaterial.json?${filter(`job_uuid eq '${uuid}'`)}`),
          sm8.api.get<Rec[]>('/taxrate.json'),
        ]);
        // The job's tax rate: the one its lines use, else the account's default.
        const used = lines.data.filter(active).find((l) => l.tax_rate_uuid)?.tax_rate_uuid;
        const rate =
          rates.data.find((r) => r.uuid === used) ??
          rates.data.find((r) => String(r.is_default_tax_rate) === '1');
        const created = await sm8.api.post('/jobmaterial.json', {
          job_uuid: uuid,
          name: o.name,
          quantity,
          price,
          ...(rate ? { tax_rate_uuid: rate.uuid } : {}),
        });
        const total = cents((await demo.reread(uuid))?.total_invoice_amount);
        demo.step(
          `added "${o.name}" ${quantity} × ${money(cents(price))} (tax ${String(rate?.name ?? 'none')}) to job ${label(job)}: ServiceM8 total now ${money(total)}`,
        );
        const invoice = await demo.qboInvoice(uuid);
        const w = invoice
          ? await demo.follow(
              `QuickBooks invoice ${String(invoice.Id)} to be re-synced to ${money(total)}`,
              `\`sm8qbo show demo ${uuid}\` says where it is`,
              async () => {
                const now = await demo.qboInvoice(uuid);
                return now && cents(now.TotalAmt) === total ? now : null;
              },
            )
          : null;
        demo.done(
          {
            jobUuid: uuid,
            lineUuid: created.headers['x-record-uuid'],
            taxRate: rate?.name ?? null,
            totalCents: total,
            qboInvoiceId: invoice?.Id ?? null,
          },
          [
            w && `QuickBooks invoice ${String(invoice?.Id)} re-synced: total ${money(total)}${took(w)}`,
            !invoice && 'the job has no QuickBooks invoice yet (`sm8qbo demo approve` exports it)',
          ],
        );
      }),
    [
      'sm8qbo demo add-line $JOB --name "Extra part" --price 25',
      'sm8qbo demo add-line 1042 --name Labour --price 95 --quantity 2',
    ],
  );

  examples(
    group
      .command('qbo-invoice')
      .description("QuickBooks user: the job's invoice (Id, number, customer, total, balance, print status)")
      .argument('<job>', 'job uuid or number')
      .action(async (ref: string) => {
        const inv = await demo.requireQboInvoice(await demo.job(ref));
        const customer = inv.CustomerRef as Rec | undefined;
        const lines = ((inv.Line as Rec[] | undefined) ?? []).filter(
          (l) => l.DetailType === 'SalesItemLineDetail',
        );
        demo.done(inv, [
          ...labelled([
            ['Invoice', String(inv.Id)],
            ['DocNumber', String(inv.DocNumber ?? '')],
            ['Customer', `${String(customer?.name ?? '')} (Id ${String(customer?.value ?? '?')})`],
            ['Total', money(cents(inv.TotalAmt))],
            ['Balance', money(cents(inv.Balance))],
            ['Printed', String(inv.PrintStatus ?? '')],
            ['Emailed', String(inv.EmailStatus ?? '')],
            ['Lines', String(lines.length)],
          ]),
        ]);
      }),
    ['sm8qbo demo qbo-invoice $JOB', 'sm8qbo demo qbo-invoice $JOB --json'],
  );

  examples(
    group
      .command('print')
      .description('QuickBooks user: mark the invoice printed (the ServiceM8 job gets invoice_sent = 1)')
      .argument('<job>', 'job uuid or number')
      .action(async (ref: string) => {
        const job = await demo.job(ref);
        const inv = await demo.requireQboInvoice(job);
        const qbo = await demo.sims.qbo();
        await qbo.control.post(
          `/invoices/${encodeURIComponent(String(inv.Id))}/printed`,
          {},
          { params: qbo.realmParams },
        );
        demo.step(`QuickBooks invoice ${String(inv.Id)} marked printed`);
        const w = await demo.follow(
          `invoice_sent = 1 on ServiceM8 job ${label(job)}`,
          'the sync may be paused (`sm8qbo connections`)',
          async () => {
            const now = await demo.reread(String(job.uuid));
            return String(now?.invoice_sent) === '1' ? now : null;
          },
        );
        demo.done({ qboInvoiceId: inv.Id, printed: true, sm8InvoiceSent: w ? true : null }, [
          w && `ServiceM8 job ${label(job)}: invoice_sent = 1${took(w)}`,
        ]);
      }),
    ['sm8qbo demo print $JOB'],
  );

  registerDemoPaymentCommands(group, demo);

  examples(
    group
      .command('rename-client')
      .description("ServiceM8 user: rename the job's client (its QuickBooks customer follows, CM-2)")
      .argument('<job>', 'job uuid or number')
      .argument('<name>', 'the new name')
      .action(async (ref: string, name: string) => {
        const job = await demo.job(ref);
        const companyUuid = String(job.company_uuid ?? '');
        if (!companyUuid) throw new CliError(ExitCode.failure, `job ${label(job)} has no client`);
        await (await demo.sims.sm8()).api.post(`/company/${companyUuid}.json`, { name });
        demo.step(`ServiceM8 client ${companyUuid} renamed "${name}"`);
        // The job's invoice names the customer the client is linked to.
        const customerId = ((await demo.qboInvoice(String(job.uuid)))?.CustomerRef as Rec | undefined)?.value;
        const w = customerId
          ? await demo.follow(
              `the rename of QuickBooks customer ${String(customerId)}`,
              'the sync may be paused (`sm8qbo connections`)',
              async () =>
                (await demo.qboRecords('Customer')).find(
                  (c) => c.Id === customerId && c.DisplayName === qboSafeName(name),
                ),
            )
          : null;
        demo.done({ clientUuid: companyUuid, name, qboCustomerId: customerId ?? null }, [
          w && `QuickBooks customer ${String(customerId)} renamed${took(w)}`,
          !customerId && 'the job has no QuickBooks invoice, so there is no customer to follow',
        ]);
      }),
    ['sm8qbo demo rename-client $JOB "New Name Pty Ltd"'],
  );
}
