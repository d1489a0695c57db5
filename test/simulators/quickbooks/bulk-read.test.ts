import { ACCOUNT_IDS } from '../../../simulators/quickbooks/index';
import {
  AU_TAX_CODE_IDS as TAX,
  basics,
  faultCode,
  faultDetail,
  salesLine,
  startTestSim,
  type TestSim,
} from './helpers';

/** What reading many dirty records in one call needs: Id IN (…) queries and CDC over every synced entity. */
describe('QBO simulator: bulk reads', () => {
  let t: TestSim;
  beforeAll(async () => {
    t = await startTestSim();
    for (let i = 1; i <= 150; i++) t.sim.control.upsertRecord('Customer', { DisplayName: `Bulk ${i}` });
  });
  afterAll(async () => {
    await t.sim.stop();
  });

  const ids = (count: number) => Array.from({ length: count }, (_, i) => `'${i + 1}'`).join(',');
  const rows = (data: { QueryResponse: { Customer?: unknown[] } }) => data.QueryResponse.Customer ?? [];

  it('Id IN (…) returns a page of 100 unless MAXRESULTS says more (at most 1000)', async () => {
    const query = `select * from Customer where Id IN (${ids(150)})`;
    expect(rows((await t.api.get('/query', { params: { query } })).data)).toHaveLength(100);
    const all = await t.api.post('/query', `${query} MAXRESULTS 1000`, {
      headers: { 'Content-Type': 'application/text' },
    });
    expect(rows(all.data)).toHaveLength(150);
    const second = await t.api.get('/query', {
      params: { query: `${query} STARTPOSITION 101 MAXRESULTS 100` },
    });
    expect(second.data.QueryResponse).toMatchObject({ startPosition: 101, maxResults: 50 });
  });

  it('unknown Ids simply match nothing; numbers may be bare', async () => {
    const data = (
      await t.api.get('/query', { params: { query: 'select * from Customer where Id IN (3, 9999)' } })
    ).data;
    expect(rows(data).map((row) => (row as { Id: string }).Id)).toEqual(['3']);
  });

  it('switch queryMaxInValues: a longer IN list is a 4001 QueryValidationError', async () => {
    t.sim.control.configure({ queryMaxInValues: 50 });
    try {
      const response = await t.api.get('/query', {
        params: { query: `select * from Customer where Id IN (${ids(51)})` },
      });
      expect(response.status).toBe(400);
      expect(faultCode(response.data)).toBe('4001');
      expect(faultDetail(response.data)).toContain('IN (…) holds 51 values; at most 50 are allowed.');
    } finally {
      t.sim.control.configure({ queryMaxInValues: 0 });
    }
  });

  it('CDC answers for every entity the sync reads, in the order asked; TaxCode and TaxRate are refused (4001)', async () => {
    // Only what follows counts: the company's own accounts and methods were written at start.
    t.sim.control.advanceClock(10_000);
    const since = t.sim.control.now();
    const { customerId, itemId } = await basics(t.api, ' CDC');
    const invoice = (
      await t.api.post('/invoice', {
        CustomerRef: { value: customerId },
        Line: [salesLine(itemId, 1, 10, TAX.gst)],
      })
    ).data.Invoice;
    await t.api.post('/payment', {
      CustomerRef: { value: customerId },
      TotalAmt: 11,
      Line: [{ Amount: 11, LinkedTxn: [{ TxnId: invoice.Id, TxnType: 'Invoice' }] }],
    });
    await t.api.post('/creditmemo', {
      CustomerRef: { value: customerId },
      Line: [salesLine(itemId, 1, 1, TAX.gst)],
    });
    await t.api.post('/refundreceipt', {
      CustomerRef: { value: customerId },
      Line: [salesLine(itemId, 1, 1, TAX.gst)],
      DepositToAccountRef: { value: ACCOUNT_IDS.bank },
    });
    const entities = [
      'Customer',
      'Item',
      'Invoice',
      'Payment',
      'CreditMemo',
      'RefundReceipt',
      'Account',
      'PaymentMethod',
      'Vendor',
      'Employee',
    ];
    const response = await t.api.get('/cdc', {
      params: { entities: entities.join(','), changedSince: since },
    });
    expect(response.status).toBe(200);
    const slots = response.data.CDCResponse[0].QueryResponse as Array<Record<string, unknown>>;
    expect(slots).toHaveLength(entities.length);
    for (const [index, entity] of [
      'Customer',
      'Item',
      'Invoice',
      'Payment',
      'CreditMemo',
      'RefundReceipt',
    ].entries()) {
      expect(slots[index]?.[entity]).toEqual(expect.any(Array));
    }
    expect(slots.slice(6)).toEqual([{}, {}, {}, {}]);
    for (const refused of ['TaxCode', 'TaxRate']) {
      const answer = await t.api.get('/cdc', {
        params: { entities: `Invoice,${refused}`, changedSince: since },
      });
      expect(faultCode(answer.data)).toBe('4001');
    }
  });
});
