import {
  AU_TAX_CODE_IDS as TAX,
  basics,
  faultCode,
  faultDetail,
  salesLine,
  startTestSim,
  type TestSim,
} from './helpers';

describe('QBO simulator: Invoice', () => {
  let t: TestSim;
  let customerId: string;
  let itemId: string;

  beforeEach(async () => {
    t = await startTestSim();
    ({ customerId, itemId } = await basics(t.api));
  });
  afterEach(async () => {
    await t.sim.stop();
  });

  const invoice = (extra: Record<string, unknown> = {}) => ({
    CustomerRef: { value: customerId },
    Line: [salesLine(itemId, 2, 95, TAX.gst), salesLine(itemId, 1, 75, TAX.outOfScope)],
    ...extra,
  });

  it('computes TotalAmt, Balance, TxnTaxDetail (TaxExcluded), numbers lines and appends the SubTotal line', async () => {
    const response = await t.api.post(
      '/invoice',
      invoice({ DocNumber: 'SM8-100', BillEmail: { Address: 'x@y.com' } }),
    );
    expect(response.status).toBe(200);
    const inv = response.data.Invoice;
    expect(inv.TotalAmt).toBe(284);
    expect(inv.Balance).toBe(284);
    expect(inv.GlobalTaxCalculation).toBe('TaxExcluded');
    expect(inv.TxnTaxDetail.TotalTax).toBe(19);
    expect(inv.TxnTaxDetail.TaxLine).toEqual([
      {
        Amount: 19,
        DetailType: 'TaxLineDetail',
        TaxLineDetail: {
          TaxRateRef: { value: '1' },
          PercentBased: true,
          TaxPercent: 10,
          NetAmountTaxable: 190,
        },
      },
    ]);
    expect(inv.Line.map((line: { Id?: string; LineNum?: number }) => [line.Id, line.LineNum])).toEqual([
      ['1', 1],
      ['2', 2],
      [undefined, undefined],
    ]);
    expect(inv.Line[2]).toEqual({ Amount: 265, DetailType: 'SubTotalLineDetail', SubTotalLineDetail: {} });
    expect(inv).toMatchObject({ EmailStatus: 'NotSet', PrintStatus: 'NotSet', DocNumber: 'SM8-100' });
  });

  /** A TaxInclusive GST line: Amount is the net, TaxInclusiveAmt (when given) the gross. */
  const inclusiveLine = (amount: number, gross?: number, qty = 1, unitPrice = amount) => {
    const line = salesLine(itemId, qty, unitPrice, TAX.gst, amount);
    if (gross !== undefined) (line.SalesItemLineDetail as Record<string, unknown>).TaxInclusiveAmt = gross;
    return line;
  };
  const inclusiveInvoice = (...lines: Array<Record<string, unknown>>) => ({
    CustomerRef: { value: customerId },
    GlobalTaxCalculation: 'TaxInclusive',
    Line: lines,
  });

  it('TaxInclusive: TaxInclusiveAmt is the gross, Amount the net; tax = round(gross × 10/110)', async () => {
    const response = await t.api.post('/invoice', inclusiveInvoice(inclusiveLine(104.55, 115)));
    expect(response.status).toBe(200);
    const inv = response.data.Invoice;
    // 115.00 × 10/110 = 10.4545… → 10.45; net 104.55
    expect(inv.TxnTaxDetail.TotalTax).toBe(10.45);
    expect(inv.TxnTaxDetail.TaxLine[0]).toMatchObject({
      Amount: 10.45,
      TaxLineDetail: { TaxPercent: 10, NetAmountTaxable: 104.55 },
    });
    expect(inv.TotalAmt).toBe(115);
    expect(inv.Balance).toBe(115);
    expect(inv.Line[0].Amount).toBe(104.55);
    expect(inv.Line[0].SalesItemLineDetail.TaxInclusiveAmt).toBe(115);
    expect(inv.Line[1]).toEqual({ Amount: 104.55, DetailType: 'SubTotalLineDetail', SubTotalLineDetail: {} });
    const read = (await t.api.get(`/invoice/${inv.Id}`)).data.Invoice;
    expect(read.Line[0]).toMatchObject({ Amount: 104.55, SalesItemLineDetail: { TaxInclusiveAmt: 115 } });
  });

  it('TaxInclusive: an Amount that is not the net derived from TaxInclusiveAmt is refused (400, 6070)', async () => {
    const response = await t.api.post('/invoice', inclusiveInvoice(inclusiveLine(115, 115)));
    expect(response.status).toBe(400);
    expect(response.data.Fault.type).toBe('ValidationFault');
    expect(faultCode(response.data)).toBe('6070');
    const detail = faultDetail(response.data) ?? '';
    expect(detail).toContain('Supplied value:115.00');
    expect(detail).toContain('expected:104.55');
    expect(detail).toContain('TaxInclusiveAmt 115.00');
    const offByACent = await t.api.post('/invoice', inclusiveInvoice(inclusiveLine(104.56, 115)));
    expect(faultCode(offByACent.data)).toBe('6070');
    expect(faultDetail(offByACent.data)).toContain('expected:104.55');
  });

  it('TaxInclusive without TaxInclusiveAmt: Amount is net, tax goes on top, TaxInclusiveAmt is added', async () => {
    const inv = (
      await t.api.post(
        '/invoice',
        inclusiveInvoice(inclusiveLine(110), inclusiveLine(99.99, undefined, 3, 33.33)),
      )
    ).data.Invoice;
    // 110 → tax 11.00; 99.99 → 9.999 → 10.00 (per line, half away from zero)
    expect(inv.TxnTaxDetail.TotalTax).toBe(21);
    expect(inv.TxnTaxDetail.TaxLine[0].TaxLineDetail.NetAmountTaxable).toBe(209.99);
    expect(inv.TotalAmt).toBe(230.99);
    expect(inv.Line.slice(0, 2).map((l: { Amount: number }) => l.Amount)).toEqual([110, 99.99]);
    expect(
      inv.Line.slice(0, 2).map(
        (l: { SalesItemLineDetail: { TaxInclusiveAmt: number } }) => l.SalesItemLineDetail.TaxInclusiveAmt,
      ),
    ).toEqual([121, 109.99]);
  });

  it('TaxInclusive lines with no rate (Out Of Scope): Amount must equal TaxInclusiveAmt, no tax', async () => {
    const line = salesLine(itemId, 1, 75, TAX.outOfScope);
    (line.SalesItemLineDetail as Record<string, unknown>).TaxInclusiveAmt = 75;
    const inv = (await t.api.post('/invoice', inclusiveInvoice(line))).data.Invoice;
    expect(inv).toMatchObject({ TotalAmt: 75, TxnTaxDetail: { TotalTax: 0 } });
    expect(inv.Line[0].SalesItemLineDetail.TaxInclusiveAmt).toBe(75);
  });

  it('TaxInclusive: TaxExcluded ignores a TaxInclusiveAmt; a response line echoed back validates', async () => {
    const excluded = (
      await t.api.post('/invoice', {
        ...inclusiveInvoice(inclusiveLine(100, 999)),
        GlobalTaxCalculation: 'TaxExcluded',
      })
    ).data.Invoice;
    expect(excluded.TotalAmt).toBe(110);
    expect(excluded.Line[0].SalesItemLineDetail.TaxInclusiveAmt).toBeUndefined();
    // net 0.15 → tax 0.02 (0.015 half away from zero) → gross 0.17 → round(0.17 × 10/110) = 0.02 → net 0.15
    const created = (await t.api.post('/invoice', inclusiveInvoice(inclusiveLine(0.15)))).data.Invoice;
    expect(created.Line[0].SalesItemLineDetail.TaxInclusiveAmt).toBe(0.17);
    const full = await t.api.post('/invoice', {
      Id: created.Id,
      SyncToken: created.SyncToken,
      CustomerRef: { value: customerId },
      GlobalTaxCalculation: 'TaxInclusive',
      Line: created.Line,
    });
    expect(full.status).toBe(200);
    expect(full.data.Invoice.TotalAmt).toBe(0.17);
  });

  it('TaxInclusive updates: a Line array follows the same rules; a sparse edit without Line keeps totals; void zeroes', async () => {
    const created = (await t.api.post('/invoice', inclusiveInvoice(inclusiveLine(104.55, 115)))).data.Invoice;
    const refused = await t.api.post('/invoice', {
      Id: created.Id,
      SyncToken: created.SyncToken,
      sparse: true,
      Line: [inclusiveLine(220, 220)],
    });
    expect(faultCode(refused.data)).toBe('6070');
    const updated = (
      await t.api.post('/invoice', {
        Id: created.Id,
        SyncToken: created.SyncToken,
        sparse: true,
        Line: [inclusiveLine(200, 220)],
      })
    ).data.Invoice;
    expect(updated).toMatchObject({ TotalAmt: 220, Balance: 220, TxnTaxDetail: { TotalTax: 20 } });
    const noted = (
      await t.api.post('/invoice', {
        Id: created.Id,
        SyncToken: updated.SyncToken,
        sparse: true,
        PrivateNote: 'n',
      })
    ).data.Invoice;
    expect(noted.TotalAmt).toBe(220);
    expect(noted.Line[0]).toMatchObject({ Amount: 200, SalesItemLineDetail: { TaxInclusiveAmt: 220 } });
    const full = (
      await t.api.post('/invoice', {
        Id: created.Id,
        SyncToken: noted.SyncToken,
        CustomerRef: { value: customerId },
        GlobalTaxCalculation: 'TaxInclusive',
        Line: [inclusiveLine(50)],
      })
    ).data.Invoice;
    expect(full).toMatchObject({ TotalAmt: 55, TxnTaxDetail: { TotalTax: 5 } });
    const voided = (
      await t.api.post(
        '/invoice',
        { Id: created.Id, SyncToken: full.SyncToken },
        { params: { operation: 'void' } },
      )
    ).data.Invoice;
    expect(voided).toMatchObject({ TotalAmt: 0, Balance: 0 });
    expect(voided.Line[0]).toMatchObject({ Amount: 0, SalesItemLineDetail: { TaxInclusiveAmt: 0 } });
  });

  it('taxInclusiveAmountIsGross (option, or configure at run time) restores "Amount is gross"', async () => {
    const gross = await startTestSim({ taxInclusiveAmountIsGross: true });
    try {
      const ids = await basics(gross.api);
      const line = (qty: number, price: number, taxInclusiveAmt?: number) => {
        const l = salesLine(ids.itemId, qty, price, TAX.gst);
        if (taxInclusiveAmt !== undefined)
          (l.SalesItemLineDetail as Record<string, unknown>).TaxInclusiveAmt = taxInclusiveAmt;
        return l;
      };
      const inv = (
        await gross.api.post('/invoice', {
          CustomerRef: { value: ids.customerId },
          GlobalTaxCalculation: 'TaxInclusive',
          // a TaxInclusiveAmt that disagrees is ignored under the old reading
          Line: [line(1, 110, 1), line(3, 33.33)],
        })
      ).data.Invoice;
      // 110 → tax 10.00; 99.99 → tax 9.09 (per line, half away from zero)
      expect(inv.TxnTaxDetail.TotalTax).toBe(19.09);
      expect(inv.TxnTaxDetail.TaxLine[0].TaxLineDetail.NetAmountTaxable).toBe(190.9);
      expect(inv.TotalAmt).toBe(209.99);
      expect(inv.Line[0].Amount).toBe(110);
      expect(inv.Line[0].SalesItemLineDetail.TaxInclusiveAmt).toBe(110);
    } finally {
      await gross.sim.stop();
    }

    const asGross = { ...inclusiveInvoice(inclusiveLine(115)) };
    expect((await t.api.post('/invoice', asGross)).data.Invoice.TotalAmt).toBe(126.5);
    t.sim.control.configure({ taxInclusiveAmountIsGross: true });
    expect((await t.api.post('/invoice', asGross)).data.Invoice.TotalAmt).toBe(115);
    t.sim.control.configure({ taxInclusiveAmountIsGross: false });
    expect((await t.api.post('/invoice', asGross)).data.Invoice.TotalAmt).toBe(126.5);
  });

  it('UnitPrice takes up to 7 decimals and round(Qty × UnitPrice) is exact (no binary floating point drift)', async () => {
    const post = (qty: number, unitPrice: number, amount: number, gross?: number) =>
      t.api.post('/invoice', inclusiveInvoice(inclusiveLine(amount, gross, qty, unitPrice)));
    // 7 × 14.9357143 = 104.5500001 → 104.55
    const seven = await post(7, 14.9357143, 104.55, 115);
    expect(seven.status).toBe(200);
    expect(seven.data.Invoice.Line[0].SalesItemLineDetail.UnitPrice).toBe(14.9357143);
    expect(seven.data.Invoice.TotalAmt).toBe(115);
    expect(faultCode((await post(7, 14.9357143, 104.56)).data)).toBe('6070');
    // 1 × 1.005 = 1.005 exactly → 1.01 (binary floating point gives 100.49999… cents → 1.00)
    expect((await post(1, 1.005, 1.01)).status).toBe(200);
    expect(faultCode((await post(1, 1.005, 1)).data)).toBe('6070');
    // 3 × 0.0016667 = 0.0050001 → 0.01; 0.5 × 0.0099999 = 0.00499995 → 0.00
    expect((await post(3, 0.0016667, 0.01)).status).toBe(200);
    expect((await post(0.5, 0.0099999, 0)).status).toBe(200);
    // 1.5 × 8.345 = 12.5175 → 12.52
    expect((await post(1.5, 8.345, 12.52)).status).toBe(200);
  });

  it('keeps an omitted DocNumber blank (AU custom transaction numbers on)', async () => {
    const inv = (await t.api.post('/invoice', invoice())).data.Invoice;
    expect(inv.DocNumber).toBeUndefined();
  });

  it('2020: CustomerRef is required (element named)', async () => {
    const response = await t.api.post('/invoice', { Line: [salesLine(itemId, 1, 1, TAX.gst)] });
    expect(response.data.Fault.Error[0]).toMatchObject({ code: '2020', element: 'CustomerRef' });
  });

  it('610: references to missing or inactive customers and items', async () => {
    expect(faultCode((await t.api.post('/invoice', invoice({ CustomerRef: { value: '999' } }))).data)).toBe(
      '610',
    );
    const item = (await t.api.get(`/item/${itemId}`)).data.Item;
    await t.api.post('/item', { Id: itemId, SyncToken: item.SyncToken, sparse: true, Active: false });
    const response = await t.api.post('/invoice', invoice());
    expect(faultCode(response.data)).toBe('610');
    expect(response.data.Fault.Error[0].Detail).toMatch(
      /Something you're trying to use has been made inactive/,
    );
  });

  it('6070: Amount must equal Qty × UnitPrice', async () => {
    const response = await t.api.post('/invoice', {
      CustomerRef: { value: customerId },
      Line: [salesLine(itemId, 2, 95, TAX.gst, 200)],
    });
    expect(faultCode(response.data)).toBe('6070');
  });

  it('6140: duplicate DocNumber, unless include=allowduplicatedocnum; 2050 beyond 21 characters', async () => {
    await t.api.post('/invoice', invoice({ DocNumber: 'INV-1' }));
    const duplicate = await t.api.post('/invoice', invoice({ DocNumber: 'INV-1' }));
    expect(faultCode(duplicate.data)).toBe('6140');
    const allowed = await t.api.post('/invoice', invoice({ DocNumber: 'INV-1' }), {
      params: { include: 'allowduplicatedocnum' },
    });
    expect(allowed.status).toBe(200);
    expect(faultCode((await t.api.post('/invoice', invoice({ DocNumber: 'X'.repeat(22) }))).data)).toBe(
      '2050',
    );
  });

  it('2500: a TaxCodeRef that does not exist; 6000 when a line has no tax code', async () => {
    expect(
      faultCode(
        (
          await t.api.post('/invoice', {
            CustomerRef: { value: customerId },
            Line: [salesLine(itemId, 1, 5, '999')],
          })
        ).data,
      ),
    ).toBe('2500');
    const noCode = {
      DetailType: 'SalesItemLineDetail',
      Amount: 5,
      SalesItemLineDetail: { ItemRef: { value: itemId } },
    };
    expect(
      faultCode((await t.api.post('/invoice', { CustomerRef: { value: customerId }, Line: [noCode] })).data),
    ).toBe('6000');
  });

  it('6170: TxnTaxDetail sent with GlobalTaxCalculation NotApplicable; NotApplicable computes no tax', async () => {
    const refused = await t.api.post(
      '/invoice',
      invoice({ GlobalTaxCalculation: 'NotApplicable', TxnTaxDetail: { TotalTax: 5 } }),
    );
    expect(faultCode(refused.data)).toBe('6170');
    const ok = (await t.api.post('/invoice', invoice({ GlobalTaxCalculation: 'NotApplicable' }))).data
      .Invoice;
    expect(ok.TotalAmt).toBe(265);
    expect(ok.TxnTaxDetail.TotalTax).toBe(0);
  });

  it('sparse update with Line replaces all lines; the SubTotal line sent back is ignored; SyncToken increments', async () => {
    const created = (await t.api.post('/invoice', invoice())).data.Invoice;
    const echoed = [...created.Line.slice(0, 1), salesLine(itemId, 4, 10, TAX.gst)];
    echoed.push(created.Line[created.Line.length - 1]);
    const updated = (
      await t.api.post('/invoice', {
        Id: created.Id,
        SyncToken: created.SyncToken,
        sparse: true,
        Line: echoed,
      })
    ).data.Invoice;
    expect(updated.SyncToken).toBe('1');
    expect(
      updated.Line.filter((line: { DetailType: string }) => line.DetailType === 'SubTotalLineDetail'),
    ).toHaveLength(1);
    expect(updated.Line.map((line: { Id?: string }) => line.Id)).toEqual(['1', '3', undefined]);
    expect(updated.TotalAmt).toBe(253);
    const stale = await t.api.post('/invoice', {
      Id: created.Id,
      SyncToken: '0',
      sparse: true,
      PrivateNote: 'x',
    });
    expect(faultCode(stale.data)).toBe('5010');
  });

  it('full update clears omitted fields such as PrivateNote', async () => {
    const created = (await t.api.post('/invoice', invoice({ PrivateNote: 'SM8 job abc' }))).data.Invoice;
    const full = (
      await t.api.post('/invoice', {
        Id: created.Id,
        SyncToken: '0',
        CustomerRef: { value: customerId },
        Line: created.Line,
      })
    ).data.Invoice;
    expect(full.PrivateNote).toBeUndefined();
    expect(full.TotalAmt).toBe(created.TotalAmt);
  });

  it('delete is a hard delete: the invoice is gone (610 on read)', async () => {
    const created = (await t.api.post('/invoice', invoice())).data.Invoice;
    const deleted = await t.api.post(
      '/invoice',
      { Id: created.Id, SyncToken: created.SyncToken },
      { params: { operation: 'delete' } },
    );
    expect(deleted.data.Invoice).toEqual({ domain: 'QBO', status: 'Deleted', Id: created.Id });
    expect(faultCode((await t.api.get(`/invoice/${created.Id}`)).data)).toBe('610');
  });

  it('void keeps the record with zero amounts, Balance 0 and a "Voided" memo; later edits are refused', async () => {
    const created = (await t.api.post('/invoice', invoice({ PrivateNote: 'job 42' }))).data.Invoice;
    const voided = (
      await t.api.post(
        '/invoice',
        { Id: created.Id, SyncToken: created.SyncToken },
        { params: { operation: 'void' } },
      )
    ).data.Invoice;
    expect(voided).toMatchObject({ TotalAmt: 0, Balance: 0, PrivateNote: 'Voided - job 42', SyncToken: '1' });
    expect(voided.Line[0].Amount).toBe(0);
    const edit = await t.api.post('/invoice', {
      Id: created.Id,
      SyncToken: '1',
      sparse: true,
      PrivateNote: 'x',
    });
    expect(faultCode(edit.data)).toBe('6000');
  });

  it('void and delete are refused (6000) while a payment is applied', async () => {
    const created = (await t.api.post('/invoice', invoice())).data.Invoice;
    await t.api.post('/payment', {
      CustomerRef: { value: customerId },
      TotalAmt: 10,
      Line: [{ Amount: 10, LinkedTxn: [{ TxnId: created.Id, TxnType: 'Invoice' }] }],
    });
    const current = (await t.api.get(`/invoice/${created.Id}`)).data.Invoice;
    for (const operation of ['void', 'delete']) {
      const response = await t.api.post(
        '/invoice',
        { Id: current.Id, SyncToken: current.SyncToken },
        { params: { operation } },
      );
      expect(faultCode(response.data)).toBe('6000');
    }
  });

  it('the customer cannot change (6000) while a payment of another customer is applied; without one, or to a sub-customer, it can', async () => {
    const other = String((await t.api.post('/customer', { DisplayName: 'Other Customer' })).data.Customer.Id);
    const child = String(
      (
        await t.api.post('/customer', {
          DisplayName: 'Site B',
          ParentRef: { value: customerId },
          Job: true,
          BillWithParent: true,
        })
      ).data.Customer.Id,
    );
    const unpaid = (await t.api.post('/invoice', invoice())).data.Invoice;
    const moved = await t.api.post('/invoice', {
      Id: unpaid.Id,
      SyncToken: unpaid.SyncToken,
      sparse: true,
      CustomerRef: { value: other },
    });
    expect(moved.data.Invoice.CustomerRef.value).toBe(other);

    const paid = (await t.api.post('/invoice', invoice())).data.Invoice;
    await t.api.post('/payment', {
      CustomerRef: { value: customerId },
      TotalAmt: 10,
      Line: [{ Amount: 10, LinkedTxn: [{ TxnId: paid.Id, TxnType: 'Invoice' }] }],
    });
    const current = (await t.api.get(`/invoice/${paid.Id}`)).data.Invoice;
    const refused = await t.api.post('/invoice', {
      Id: current.Id,
      SyncToken: current.SyncToken,
      sparse: true,
      CustomerRef: { value: other },
    });
    expect(refused.status).toBe(400);
    expect(faultCode(refused.data)).toBe('6000');
    expect(faultDetail(refused.data)).toMatch(/payment .* is applied/);
    expect(t.sim.store.get('Invoice', current.Id)?.CustomerRef).toMatchObject({ value: customerId });
    // A parent's payment may pay its sub-customer's invoice, so that move is allowed.
    const toChild = await t.api.post('/invoice', {
      Id: current.Id,
      SyncToken: current.SyncToken,
      sparse: true,
      CustomerRef: { value: child },
    });
    expect(toChild.status).toBe(200);
  });

  it('send: EmailStatus EmailSent, DeliveryInfo, sendTo overwrites BillEmail', async () => {
    const created = (
      await t.api.post(
        '/invoice',
        invoice({ BillEmail: { Address: 'old@example.com' }, EmailStatus: 'NeedToSend' }),
      )
    ).data.Invoice;
    expect(created.EmailStatus).toBe('NeedToSend');
    const sent = (
      await t.api.post(`/invoice/${created.Id}/send`, undefined, { params: { sendTo: 'new@example.com' } })
    ).data.Invoice;
    expect(sent.EmailStatus).toBe('EmailSent');
    expect(sent.BillEmail.Address).toBe('new@example.com');
    expect(sent.DeliveryInfo.DeliveryType).toBe('Email');
    expect(sent.SyncToken).toBe('1');
  });

  it('marking printed (control API, no Intuit endpoint) sets PrintStatus PrintComplete', async () => {
    const created = (await t.api.post('/invoice', invoice())).data.Invoice;
    const printed = t.sim.control.markInvoicePrinted(created.Id);
    expect(printed.PrintStatus).toBe('PrintComplete');
    expect((await t.api.get(`/invoice/${created.Id}`)).data.Invoice.SyncToken).toBe('1');
  });

  it('serves a PDF for GET /invoice/{Id}/pdf', async () => {
    const created = (await t.api.post('/invoice', invoice())).data.Invoice;
    const pdf = await t.api.get(`/invoice/${created.Id}/pdf`, { responseType: 'arraybuffer' });
    expect(pdf.headers['content-type']).toMatch(/application\/pdf/);
    expect(Buffer.from(pdf.data).toString('latin1').startsWith('%PDF')).toBe(true);
  });
});
