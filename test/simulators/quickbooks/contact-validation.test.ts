import QuickBooks from 'node-quickbooks';
import { basics, faultCode, faultDetail, salesLine, startTestSim, type TestSim } from './helpers';
import { AU_TAX_CODE_IDS as TAX } from './helpers';

/* eslint-disable @typescript-eslint/no-explicit-any -- node-quickbooks' typings do not match its callbacks. */

function fault(body: unknown): { code?: string; Message?: string; Detail?: string; element?: string } {
  return (body as { Fault: { Error: Array<Record<string, string>> } }).Fault.Error[0] ?? {};
}

describe('QBO simulator: email and phone validation', () => {
  let t: TestSim;
  beforeEach(async () => {
    t = await startTestSim();
  });
  afterEach(async () => {
    await t.sim.stop();
  });

  it.each([
    ['Kim Carpenter'],
    ['two@example.com, three@example.com'],
    [' space@example.com'],
    ['no-at-sign.example.com'],
    ['dots..twice@example.com'],
    ['user@nodot'],
  ])(
    '2210 "Invalid Email Address format" for a Customer PrimaryEmailAddr of %j; nothing is saved',
    async (address) => {
      const response = await t.api.post('/customer', {
        DisplayName: 'Email Test',
        PrimaryEmailAddr: { Address: address },
      });
      expect(response.status).toBe(400);
      expect(fault(response.data)).toEqual({
        code: '2210',
        Message: 'Invalid Email Address format',
        Detail: `Email Address does not conform to the syntax rules of RFC 822. Supplied value:${address}`,
        element: 'PrimaryEmailAddr.Address',
      });
      expect(t.sim.store.list('Customer')).toHaveLength(0);
    },
  );

  it('accepts ordinary addresses, a plus sign included', async () => {
    for (const [index, address] of ['a@b.com.au', 'first.last+tag@sub.example.co.nz'].entries()) {
      const response = await t.api.post('/customer', {
        DisplayName: `Valid ${index}`,
        PrimaryEmailAddr: { Address: address },
      });
      expect(response.status).toBe(200);
      expect(response.data.Customer.PrimaryEmailAddr.Address).toBe(address);
    }
  });

  it('2050 for an address over 100 characters and a FreeFormNumber over 21', async () => {
    const long = `${'a'.repeat(95)}@b.com`;
    const email = await t.api.post('/customer', { DisplayName: 'Long', PrimaryEmailAddr: { Address: long } });
    expect(fault(email.data)).toMatchObject({ code: '2050', element: 'PrimaryEmailAddr.Address' });
    expect(faultDetail(email.data)).toContain('Max:100 supported. Supplied length:101');
    const phone = await t.api.post('/customer', {
      DisplayName: 'Phone',
      Mobile: { FreeFormNumber: '+61 (0)412 345 678 ext 9' },
    });
    expect(fault(phone.data)).toMatchObject({ code: '2050', element: 'Mobile.FreeFormNumber' });
    const ok = await t.api.post('/customer', {
      DisplayName: 'Phone ok',
      PrimaryPhone: { FreeFormNumber: '+61 (02) 9555 0123 x1' },
    });
    expect(ok.status).toBe(200);
  });

  it('an empty Address clears the email by default; with emptyEmailClears=false it is 2210', async () => {
    const created = (
      await t.api.post('/customer', { DisplayName: 'Clear Me', PrimaryEmailAddr: { Address: 'x@y.com' } })
    ).data.Customer;
    const cleared = await t.api.post('/customer', {
      Id: created.Id,
      SyncToken: created.SyncToken,
      sparse: true,
      PrimaryEmailAddr: { Address: '' },
    });
    expect(cleared.status).toBe(200);
    expect(cleared.data.Customer.PrimaryEmailAddr).toBeUndefined();
    t.sim.control.configure({ emptyEmailClears: false });
    const refused = await t.api.post('/customer', {
      DisplayName: 'Empty',
      PrimaryEmailAddr: { Address: '' },
    });
    expect(faultCode(refused.data)).toBe('2210');
  });

  it('phoneMaxLength is a switch (0 = no limit)', async () => {
    t.sim.control.configure({ phoneMaxLength: 0 });
    const response = await t.api.post('/customer', {
      DisplayName: 'Long Phone',
      PrimaryPhone: { FreeFormNumber: '1'.repeat(40) },
    });
    expect(response.status).toBe(200);
  });

  it('Vendor and Employee emails are checked the same way', async () => {
    const vendor = await t.api.post('/vendor', { DisplayName: 'V', PrimaryEmailAddr: { Address: 'nope' } });
    expect(faultCode(vendor.data)).toBe('2210');
    const employee = await t.api.post('/employee', {
      GivenName: 'E',
      PrimaryEmailAddr: { Address: 'e@x' },
    });
    expect(faultCode(employee.data)).toBe('2210');
  });

  it('Invoice BillEmail: 2210 on a bad address, BillEmailCc takes a comma-separated list; nothing is saved', async () => {
    const { customerId, itemId } = await basics(t.api);
    const invoice = (extra: Record<string, unknown>) => ({
      CustomerRef: { value: customerId },
      Line: [salesLine(itemId, 1, 100, TAX.gst)],
      ...extra,
    });
    const bad = await t.api.post('/invoice', invoice({ BillEmail: { Address: 'accounts at example.com' } }));
    expect(fault(bad.data)).toMatchObject({ code: '2210', element: 'BillEmail.Address' });
    const twoInBillEmail = await t.api.post(
      '/invoice',
      invoice({ BillEmail: { Address: 'a@b.com,c@d.com' } }),
    );
    expect(faultCode(twoInBillEmail.data)).toBe('2210');
    const badCc = await t.api.post('/invoice', invoice({ BillEmailCc: { Address: 'a@b.com, nope' } }));
    expect(fault(badCc.data)).toMatchObject({ code: '2210', element: 'BillEmailCc.Address' });
    expect(t.sim.store.list('Invoice')).toHaveLength(0);
    const good = await t.api.post(
      '/invoice',
      invoice({ BillEmail: { Address: 'ap@x.com' }, BillEmailCc: { Address: 'a@b.com, c@d.com' } }),
    );
    expect(good.status).toBe(200);
  });

  it('send: a bad sendTo is 2210 and the invoice is not marked sent', async () => {
    const { customerId, itemId } = await basics(t.api);
    const invoice = (
      await t.api.post('/invoice', {
        CustomerRef: { value: customerId },
        Line: [salesLine(itemId, 1, 100, TAX.gst)],
      })
    ).data.Invoice;
    const response = await t.api.post(`/invoice/${invoice.Id}/send`, undefined, {
      params: { sendTo: 'not an address' },
    });
    expect(fault(response.data)).toMatchObject({ code: '2210', element: 'sendTo' });
    expect(t.sim.store.get('Invoice', invoice.Id)?.EmailStatus).toBe('NotSet');
  });

  it('node-quickbooks surfaces the 2210 Fault to its caller', async () => {
    const saved = QuickBooks.V3_ENDPOINT_BASE_URL;
    QuickBooks.V3_ENDPOINT_BASE_URL = t.sim.accountingBaseUrl;
    try {
      const qbo: any = new QuickBooks(
        'id',
        'secret',
        t.accessToken,
        false,
        t.sim.realmId,
        true,
        false,
        '75',
        '2.0',
      );
      const err: any = await new Promise((resolve) =>
        qbo.createCustomer({ DisplayName: 'NQ', PrimaryEmailAddr: { Address: 'Kim Carpenter' } }, (e: any) =>
          resolve(e),
        ),
      );
      // node-quickbooks hands over the axios error; the QBO Fault is its response body.
      expect(err.response.data.Fault.Error[0]).toMatchObject({
        code: '2210',
        Message: 'Invalid Email Address format',
      });
    } finally {
      QuickBooks.V3_ENDPOINT_BASE_URL = saved;
    }
  });
});
