/**
 * The customer and items of an invoice (CM-7, INV-5), activities of the invoice lifecycle
 * (workflows/invoice.ts): each linked, matched by name in QuickBooks, or created there with a requestid
 * (the items' step is activities/invoice-items.ts).
 * A name QuickBooks refuses or holds elsewhere comes back as an INV-3 reason, not as a failure.
 */
import { billingContact, customerFromCompany } from '../domain/clients-materials/customer';
import { reasons } from '../domain/invoice/reasons';
import { qboQuote, sameName } from '../domain/names';
import type { Sm8Company } from '../domain/servicem8-types';
import { isNotFound, validationDetails } from '../apis/errors';
import { moveLinkToSurvivor, survivorOfGoneCustomer } from './clients-materials/merges';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';
import { inNameTurn } from './support/name-turn';
import { createOwn, lostOwnCreate } from './support/own-creates';
import { createInvoiceItemSteps } from './invoice-items';
import type { Refusal } from './invoice-settings';
import { homeCurrency, knownBillEmail, nameHolder, sm8NameOf } from './support/party-lookups';
import { linkSynced } from './clients-materials/links';
import { CmRecords } from './clients-materials/record-reads';
import {
  clientFromQbo,
  clientFromSm8,
  type QboCustomerRecord,
} from '../domain/clients-materials/customer-sync';
import { recordOwnWrite } from '../store/own-writes';
import type { ActivityDeps } from './support/deps';

interface QboCustomer {
  Id: string;
  DisplayName: string;
  Active?: boolean;
  SyncToken: string;
}
/** A QuickBooks customer by Id, or null when it is gone (merged away: QuickBooks removes nothing else). */
async function readCustomer(qbo: QuickBooksClient, id: string): Promise<QboCustomer | null> {
  try {
    return await qbo.read<QboCustomer>('Customer', id);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

export function createInvoicePartyActivities(deps: ActivityDeps) {
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);
  /** Exports racing for one name take turns (activities/support/name-turn.ts). */
  const inTurn = <T>(connectionId: string, kind: 'customer' | 'item', name: string, fn: () => Promise<T>) =>
    inNameTurn(deps.pool, connectionId, kind, name, fn);

  const steps = {
    ...createInvoiceItemSteps(deps),
    /** CM-7 / INV-5: the QuickBooks customer of the job's client: linked, matched by name, or created. */
    async ensureCustomer(input: {
      connectionId: string;
      companyUuid: string;
      requestId: string;
    }): Promise<{ ok: true; customerId: string; billEmail: string | null } | Refusal> {
      const qbo = qboFor(input.connectionId);
      // Cache first (issue 12): onboarding's candidate lists and the sync's reads and writes keep them.
      const records = new CmRecords(deps, input.connectionId, sm8For(input.connectionId));
      const company = await records.sm8Record<Sm8Company>('company', input.companyUuid);
      const contacts = await records.contactsOf(input.companyUuid);
      const contact = billingContact(contacts);
      const billEmail = contact?.email?.trim() || null;
      const fields = customerFromCompany(company, contact);
      return inTurn(input.connectionId, 'customer', fields.DisplayName, async () => {
        const link = await deps.links.bySm8(input.connectionId, 'customer', input.companyUuid);
        if (link?.qboId) {
          let customer = await readCustomer(qbo, link.qboId);
          if (!customer) {
            // CM-10 with the merge unheard: the link follows the survivor, found on the client's invoices.
            const survivor = await survivorOfGoneCustomer(
              deps,
              input.connectionId,
              input.companyUuid,
              link.qboId,
            );
            const move = survivor ? await moveLinkToSurvivor(deps, input.connectionId, link, survivor) : null;
            customer = survivor && move?.moved ? await readCustomer(qbo, survivor) : null;
            if (!customer) {
              if (!survivor) await deps.links.remove(link.id); // no trace: linked by name at the next sync
              return {
                ok: false,
                reason: reasons.customerGone(
                  company.name ?? fields.DisplayName,
                  link.qboId,
                  survivor ?? undefined,
                ),
              };
            }
          }
          if (customer.Active === false)
            return { ok: false, reason: reasons.clientInactive(customer.DisplayName) };
          return { ok: true, customerId: customer.Id, billEmail };
        }

        const sameNamed = (
          await qbo.query<'Customer', QboCustomer>(
            'Customer',
            `SELECT * FROM Customer WHERE DisplayName = ${qboQuote(fields.DisplayName)} AND Active IN (true, false)`,
          )
        ).filter((c) => sameName(c.DisplayName, fields.DisplayName));
        const active = sameNamed.find((c) => c.Active !== false);
        const matched = Boolean(active);
        // Only inactive ones: ours if an earlier attempt made it (linked, then held), else someone else's.
        const inactive = matched ? [] : sameNamed.map((c) => c.DisplayName);
        const create = {
          connectionId: input.connectionId,
          entity: 'customer' as const,
          sm8Key: input.companyUuid,
          fields,
          requestId: input.requestId,
        };
        const lost = inactive.length ? await lostOwnCreate<QboCustomer>(deps, create, inactive) : null;
        if (!active && inactive.length && !lost)
          return { ok: false, reason: reasons.clientInactive(inactive[0] ?? fields.DisplayName) };
        let customer: QboCustomer | undefined = active ?? lost ?? undefined;
        if (customer) {
          // Issue 13: a customer in another currency would read the home-currency amounts as its own.
          const currency = (customer as { CurrencyRef?: { value?: string } }).CurrencyRef?.value;
          if (currency) {
            const home = await homeCurrency(qbo);
            if (home && currency !== home)
              return { ok: false, reason: reasons.currencyMismatch(customer.DisplayName, currency, home) };
          }
          // Issue 13: a name match already linked to another client is that client's customer, not this one's.
          const other = await deps.links.byQbo(input.connectionId, 'customer', customer.Id);
          if (other?.sm8Uuid && other.sm8Uuid !== input.companyUuid)
            return {
              ok: false,
              reason: reasons.nameShared('client', fields.DisplayName, customer.DisplayName, {
                mine: company.name,
                other: await sm8NameOf(records.sm8Client, 'company', other.sm8Uuid),
              }),
            };
        } else {
          try {
            customer = await createOwn<QboCustomer>(deps, create);
          } catch (err) {
            const d = validationDetails(err);
            if (!d) throw err;
            if (d.code === '6240')
              return {
                ok: false,
                reason: reasons.nameTaken(fields.DisplayName, await nameHolder(qbo, fields.DisplayName)),
              };
            return {
              ok: false,
              reason: reasons.clientRefused(fields.DisplayName, d.detail || d.message, d.code),
            };
          }
        }
        // CM-7: a name match is QuickBooks' record, so QuickBooks wins it: the baseline stored with the link is
        // ServiceM8's side, and QuickBooks' differing fields read as the change the first sync carries over.
        // A customer this export created starts in step (both sides as sent).
        const sm8Side = clientFromSm8(company, contacts);
        const qboSide = matched ? sm8Side : clientFromQbo(customer as unknown as QboCustomerRecord);
        await linkSynced(
          deps.links,
          input.connectionId,
          'customer',
          input.companyUuid,
          customer.Id,
          { sm8: sm8Side, qbo: qboSide },
          customer.SyncToken,
        );
        await recordOwnWrite(deps.pool, input.connectionId, {
          side: 'qbo',
          entity: 'customer',
          recordId: customer.Id,
          fields: Object.keys(fields),
          answer: {
            DisplayName: customer.DisplayName,
            PrimaryEmailAddr: billEmail ? { Address: billEmail } : null,
          },
          syncToken: customer.SyncToken,
          lastUpdated: null,
        });
        if (lost) return { ok: false, reason: reasons.clientInactive(customer.DisplayName) };
        return { ok: true, customerId: customer.Id, billEmail };
      });
    },
  };

  /**
   * Issue 12: the customer of a client already linked, and its billing email, without a call: the email is
   * the one QuickBooks last got (the client's synced values kept by CM-2, or what our own create sent);
   * only when neither is known are the client's contacts read. An inactive customer is not read for:
   * QuickBooks refuses the invoice (610) and the export then asks ensureCustomer, which says why.
   */
  async function linkedCustomer(
    connectionId: string,
    companyUuid: string,
  ): Promise<{ ok: true; customerId: string; billEmail: string | null } | null> {
    const link = await deps.links.bySm8(connectionId, 'customer', companyUuid);
    if (!link?.qboId || link.state !== 'linked') return null;
    const known = await knownBillEmail(deps, connectionId, link);
    if (known) return { ok: true, customerId: link.qboId, billEmail: known.billEmail };
    const contacts = await new CmRecords(deps, connectionId, sm8For(connectionId)).contactsOf(companyUuid);
    return { ok: true, customerId: link.qboId, billEmail: billingContact(contacts)?.email?.trim() || null };
  }

  return {
    ...steps,
    /** INV-5 in one step (issue 12): the customer (linked: no call) and every line's item. */
    async ensureParties(input: {
      connectionId: string;
      companyUuid: string;
      lines: Array<{ jobMaterialUuid: string; materialUuid: string }>;
      requestId: string;
    }): Promise<
      { ok: true; customerId: string; billEmail: string | null; itemIds: Record<string, string> } | Refusal
    > {
      const customer =
        (await linkedCustomer(input.connectionId, input.companyUuid)) ?? (await steps.ensureCustomer(input));
      if (!customer.ok) return customer;
      const items = await steps.ensureItems(input);
      if (!items.ok) return items;
      return {
        ok: true,
        customerId: customer.customerId,
        billEmail: customer.billEmail,
        itemIds: items.itemIds,
      };
    },
  };
}
