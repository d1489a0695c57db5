/**
 * The demo's payment steps: a QuickBooks payment on the invoice (PAY-2) and its deletion through the
 * QuickBooks API (PAY-3), a ServiceM8 payment on the job (PAY-1). Each waits for the other side's copy.
 */
import axios from 'axios';
import type { Command } from 'commander';
import { qboPaymentMarker, sm8PaymentMarker } from '../../domain/payments';
import { examples } from './admin';
import { CliError, ExitCode } from './context';
import { amountArg, cents, type Rec } from './demo-sims';
import { active, label, took, type DemoWorld } from './demo-world';
import { money } from './output';

export function registerDemoPaymentCommands(group: Command, demo: DemoWorld): void {
  examples(
    group
      .command('pay-qbo')
      .description('QuickBooks user: record a payment on the invoice (a ServiceM8 payment appears, PAY-2)')
      .argument('<job>', 'job uuid or number')
      .argument('<amount>', 'e.g. 20 or 20.50')
      .action(async (ref: string, amountText: string) => {
        const amount = Number(amountArg('<amount>', amountText));
        const job = await demo.job(ref);
        const inv = await demo.requireQboInvoice(job);
        const qbo = await demo.sims.qbo();
        // As the QuickBooks UI records it: the customer's payment, applied to the invoice.
        const body = {
          CustomerRef: inv.CustomerRef,
          TotalAmt: amount,
          Line: [{ Amount: amount, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] }],
        };
        const { data: payment } = await qbo.control.post<Rec>('/records/Payment', body, {
          params: qbo.realmParams,
        });
        const id = String(payment.Id);
        demo.step(
          `QuickBooks payment ${id} of ${money(cents(amount))} on invoice ${String(inv.Id)} (\`sm8qbo demo delete-qbo-payment ${id}\` deletes it)`,
        );
        const marker = qboPaymentMarker(id, String(inv.Id));
        const w = await demo.follow(
          `the ServiceM8 copy of QuickBooks payment ${id}`,
          `\`sm8qbo show demo ${String(job.uuid)}\` lists the payments`,
          async () =>
            (await demo.sm8Payments()).find(
              (p) => p.job_uuid === job.uuid && active(p) && String(p.note ?? '').includes(marker),
            ),
        );
        demo.done({ qboPaymentId: id, qboInvoiceId: inv.Id, sm8PaymentUuid: w?.value.uuid ?? null }, [
          w &&
            `ServiceM8 payment ${String(w.value.uuid)} of ${money(cents(w.value.amount))} on job ${label(job)}${took(w)}`,
        ]);
      }),
    ['sm8qbo demo pay-qbo $JOB 20'],
  );

  examples(
    group
      .command('delete-qbo-payment')
      .description(
        'QuickBooks user: delete a payment through the QuickBooks API (its ServiceM8 copy goes too, PAY-3)',
      )
      .argument('<payment>', 'the QuickBooks payment Id (printed by `demo pay-qbo`)')
      .action(async (id: string) => {
        const qbo = await demo.sims.qbo();
        const { data: payment } = await qbo.control.get<Rec>(`/records/Payment/${encodeURIComponent(id)}`, {
          params: qbo.realmParams,
        });
        const copies = (await demo.sm8Payments()).filter(
          (p) => active(p) && String(p.note ?? '').includes(`[qbo:payment:${id}:`),
        );
        // What an accounting app does: a token (here without the consent screen), then the Accounting API.
        const { data: token } = await qbo.control.post<{ access_token: string; realmId: string }>(
          '/tokens',
          qbo.realmParams,
        );
        await axios
          .post(
            `${qbo.url}/v3/company/${token.realmId}/payment`,
            { Id: id, SyncToken: payment.SyncToken },
            {
              params: { operation: 'delete' },
              headers: { Authorization: `Bearer ${token.access_token}` },
              timeout: 30_000,
            },
          )
          .catch((err: unknown) => {
            throw new CliError(
              ExitCode.failure,
              `QuickBooks refused to delete payment ${id}: ${(err as Error).message}`,
            );
          });
        demo.step(`QuickBooks payment ${id} deleted`);
        const gone = copies.map((c) => String(c.uuid));
        const w = copies.length
          ? await demo.follow(
              `the deletion of ServiceM8 payment ${gone.join(', ')}`,
              'the sync may be paused (`sm8qbo connections`)',
              async () =>
                (await demo.sm8Payments()).some((p) => active(p) && gone.includes(String(p.uuid)))
                  ? null
                  : true,
            )
          : null;
        demo.done({ qboPaymentId: id, deleted: true, sm8PaymentsDeleted: w ? gone : [] }, [
          w && `ServiceM8 payment ${gone.join(', ')} deleted${took(w)}`,
        ]);
      }),
    ['sm8qbo demo delete-qbo-payment 187'],
  );

  examples(
    group
      .command('pay-sm8')
      .description('ServiceM8 user: record a payment on the job (it becomes a QuickBooks Payment, PAY-1)')
      .argument('<job>', 'job uuid or number')
      .argument('<amount>', 'e.g. 50 or 50.00')
      .option('--method <method>', 'payment method', 'Cash')
      .action(async (ref: string, amountText: string, opts: { method: string }) => {
        const amount = amountArg('<amount>', amountText);
        const job = await demo.job(ref);
        const sm8 = await demo.sims.sm8();
        const created = await sm8.api.post('/jobpayment.json', {
          job_uuid: job.uuid,
          amount,
          method: opts.method,
        });
        const uuid = String(created.headers['x-record-uuid']);
        demo.step(`ServiceM8 payment ${uuid} of ${money(cents(amount))} on job ${label(job)}`);
        const w = await demo.follow(
          `the QuickBooks copy of ServiceM8 payment ${uuid}`,
          `\`sm8qbo show demo ${String(job.uuid)}\` says why (is the invoice in QuickBooks?)`,
          async () =>
            (await demo.qboRecords('Payment')).find((p) =>
              String(p.PrivateNote ?? '').includes(sm8PaymentMarker(uuid)),
            ),
        );
        demo.done({ sm8PaymentUuid: uuid, qboPaymentId: w?.value.Id ?? null }, [
          w && `QuickBooks payment ${String(w.value.Id)} of ${money(cents(w.value.TotalAmt))}${took(w)}`,
        ]);
      }),
    ['sm8qbo demo pay-sm8 $JOB 50'],
  );
}
