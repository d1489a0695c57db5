/**
 * The customer and items of an invoice (CM-7, INV-5), activities of the invoice lifecycle
 * (workflows/invoice.ts): each linked, matched by name in QuickBooks, or created there with a requestid.
 * A name QuickBooks refuses or holds elsewhere comes back as an INV-3 reason, not as a failure.
 */
import { billingContact, customerFromCompany } from '../domain/clients-materials/customer';
import { GENERIC_ITEM_KEY, genericItem, itemFromMaterial } from '../domain/clients-materials/item';
import { fingerprint } from '../domain/fingerprint';
import { reasons, type Reason } from '../domain/invoice/reasons';
import { qboQuote, qboSafeName, sameName } from '../domain/names';
import type { Sm8Company, Sm8CompanyContact, Sm8Material } from '../domain/servicem8-types';
import { isNotFound, validationDetails } from '../apis/errors';
import { defaultIncomeAccount } from '../apis/quickbooks/lookups';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';
import type { ConnectionStore } from '../store/connections';
import type { ActivityDeps } from './support/deps';

/** A business refusal of an invoice step: an INV-3 reason for the bookkeeper, not a failure. */
export type Refusal = { ok: false; reason: Reason };

/** A requestid (≤ 50 chars) for one sub-step of a step whose base id came from the workflow. */
function subRequestId(base: string, key: string): string {
  return `${base.slice(0, 36)}-${fingerprint(key).slice(0, 12)}`;
}

interface QboCustomer {
  Id: string;
  DisplayName: string;
  Active?: boolean;
  SyncToken: string;
}
interface QboItem {
  Id: string;
  Name: string;
  Active?: boolean;
  SyncToken: string;
}
/** The connection settings the invoice activities read (DocNumber prefix, income account of new items). */
export async function invoiceSettings(
  store: ConnectionStore,
  connectionId: string,
): Promise<{ docNumberPrefix: string; incomeAccountId?: string }> {
  const s = await store.settings(connectionId);
  return {
    docNumberPrefix: typeof s.docNumberPrefix === 'string' ? s.docNumberPrefix : '',
    incomeAccountId: typeof s.incomeAccountId === 'string' ? s.incomeAccountId : undefined,
  };
}

export function createInvoicePartyActivities(deps: ActivityDeps) {
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);
  const settings = (connectionId: string) => invoiceSettings(deps.store, connectionId);

  return {
    /** CM-7 / INV-5: the QuickBooks customer of the job's client: linked, matched by name, or created. */
    async ensureCustomer(input: {
      connectionId: string;
      companyUuid: string;
      requestId: string;
    }): Promise<{ ok: true; customerId: string; billEmail: string | null } | Refusal> {
      const sm8 = sm8For(input.connectionId);
      const qbo = qboFor(input.connectionId);
      const company = await sm8.read<Sm8Company>('company', input.companyUuid);
      const contacts = await sm8.list<Sm8CompanyContact>('companycontact', [
        { field: 'company_uuid', op: 'eq', value: input.companyUuid },
      ]);
      const contact = billingContact(contacts);
      const billEmail = contact?.email?.trim() || null;
      const fields = customerFromCompany(company, contact);

      const link = await deps.links.bySm8(input.connectionId, 'customer', input.companyUuid);
      if (link?.qboId) {
        const customer = await qbo.read<QboCustomer>('Customer', link.qboId);
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
      let customer: QboCustomer | undefined = active;
      if (!customer && sameNamed.length > 0) {
        return { ok: false, reason: reasons.clientInactive(sameNamed[0]?.DisplayName ?? fields.DisplayName) };
      }
      if (!customer) {
        try {
          customer = await qbo.create<QboCustomer>('Customer', fields, input.requestId);
        } catch (err) {
          const d = validationDetails(err);
          if (d?.code !== '6240') throw err;
          return {
            ok: false,
            reason: reasons.nameTaken(fields.DisplayName, await nameHolder(qbo, fields.DisplayName)),
          };
        }
      }
      await deps.links.link(input.connectionId, 'customer', input.companyUuid, customer.Id, {
        qboSyncToken: customer.SyncToken,
      });
      return { ok: true, customerId: customer.Id, billEmail };
    },

    /** INV-5: a QuickBooks item for every line (its material's, linked/matched/created; or the generic one). */
    async ensureItems(input: {
      connectionId: string;
      lines: Array<{ jobMaterialUuid: string; materialUuid: string }>;
      requestId: string;
    }): Promise<{ ok: true; itemIds: Record<string, string> } | Refusal> {
      const sm8 = sm8For(input.connectionId);
      const qbo = qboFor(input.connectionId);
      const byKey = new Map<string, string>();
      let incomeAccountId: string | null | undefined;
      const incomeAccount = async () => {
        if (incomeAccountId === undefined) {
          incomeAccountId =
            (await settings(input.connectionId)).incomeAccountId ?? (await defaultIncomeAccount(qbo));
        }
        return incomeAccountId;
      };

      for (const line of input.lines) {
        const key = line.materialUuid || GENERIC_ITEM_KEY;
        if (byKey.has(key)) continue;
        const link = await deps.links.bySm8(input.connectionId, 'item', key);
        if (link?.qboId) {
          byKey.set(key, link.qboId);
          continue;
        }
        let material: Sm8Material | undefined;
        if (key !== GENERIC_ITEM_KEY) {
          try {
            material = await sm8.read<Sm8Material>('material', key);
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
        const name = material ? qboSafeName(material.name) : genericItem('').Name;
        const existing = (
          await qbo.query<'Item', QboItem>(
            'Item',
            `SELECT * FROM Item WHERE Name = ${qboQuote(name)} AND Active IN (true, false)`,
          )
        ).filter((i) => sameName(i.Name, name));
        let item = existing.find((i) => i.Active !== false);
        if (!item && existing.length > 0) {
          return {
            ok: false,
            reason: reasons.itemNameTaken(
              name,
              'an inactive product/service has this name: make it active in QuickBooks',
            ),
          };
        }
        if (!item) {
          const account = await incomeAccount();
          if (!account) return { ok: false, reason: reasons.noIncomeAccount() };
          const taxLink = material?.tax_rate_uuid
            ? await deps.links.bySm8(input.connectionId, 'taxcode', material.tax_rate_uuid)
            : null;
          const fields = material
            ? itemFromMaterial(material, {
                incomeAccountId: account,
                salesTaxCodeId: taxLink?.qboId ?? undefined,
              })
            : genericItem(account);
          try {
            item = await qbo.create<QboItem>('Item', fields, subRequestId(input.requestId, key));
          } catch (err) {
            const d = validationDetails(err);
            if (d?.code === '6240')
              return { ok: false, reason: reasons.itemNameTaken(name, d.detail ?? d.message) };
            throw err;
          }
        }
        await deps.links.link(input.connectionId, 'item', key, item.Id, { qboSyncToken: item.SyncToken });
        byKey.set(key, item.Id);
      }
      const itemIds: Record<string, string> = {};
      for (const line of input.lines)
        itemIds[line.jobMaterialUuid] = byKey.get(line.materialUuid || GENERIC_ITEM_KEY) ?? '';
      return { ok: true, itemIds };
    },
  };
}

/** Who holds a name in QuickBooks (for the 6240 sentence): a supplier, an employee, or a customer. */
async function nameHolder(qbo: QuickBooksClient, name: string): Promise<string> {
  const where = `WHERE DisplayName = ${qboQuote(name)} AND Active IN (true, false)`;
  if ((await qbo.query('Vendor', `SELECT * FROM Vendor ${where}`)).length) return 'supplier';
  if ((await qbo.query('Employee', `SELECT * FROM Employee ${where}`)).length) return 'employee';
  return 'customer';
}
