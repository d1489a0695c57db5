/** TAX-1 … TAX-3, the pure mapping and plan (domain/tax.ts): no infrastructure. */
import {
  planTaxSync,
  qboTaxCodeView,
  qboTaxFingerprint,
  sm8TaxFingerprint,
  type QboTaxCodeView,
  type Sm8TaxRateView,
  type TaxLinkView,
} from '../../domain/tax';

const rates = new Map<string, number | string>([
  ['1', 10],
  ['3', 0],
  ['8', 5],
  ['9', 9.975],
  ['2', 10],
]);
const details = (...ids: string[]) => ({ TaxRateDetail: ids.map((id) => ({ TaxRateRef: { value: id } })) });

describe('TAX-1: a QuickBooks tax code as a ServiceM8 tax rate', () => {
  it('TAX-1: name = TaxCode.Name, amount = Σ sales RateValue as a 4-place string', () => {
    expect(qboTaxCodeView({ Id: '4', Name: 'GST', SalesTaxRateList: details('1') }, rates)).toEqual({
      qboId: '4',
      name: 'GST',
      active: true,
      amount: '10.0000',
    });
    // GST + QST (Canada) style: several sales rates are summed exactly.
    expect(
      qboTaxCodeView({ Id: '12', Name: 'GST/QST QC', SalesTaxRateList: details('8', '9') }, rates).amount,
    ).toBe('14.9750');
    expect(qboTaxCodeView({ Id: '5', Name: 'GST Free', SalesTaxRateList: details('3') }, rates).amount).toBe(
      '0.0000',
    );
  });

  it('TAX-1: codes without a sales rate (purchase-only, out of scope) or with an unknown rate are not importable', () => {
    expect(qboTaxCodeView({ Id: '6', Name: 'GST on non-capital' }, rates).amount).toBeNull();
    expect(
      qboTaxCodeView({ Id: '7', Name: 'Out Of Scope', SalesTaxRateList: { TaxRateDetail: [] } }, rates)
        .amount,
    ).toBeNull();
    expect(
      qboTaxCodeView({ Id: '13', Name: 'Odd', SalesTaxRateList: details('1', '404') }, rates).amount,
    ).toBeNull();
  });

  it('TAX-1: names are trimmed and cut to ServiceM8 50 characters; Active false is inactive', () => {
    const v = qboTaxCodeView(
      { Id: '20', Name: `  ${'x'.repeat(60)} `, Active: false, SalesTaxRateList: details('1') },
      rates,
    );
    expect(v.name).toHaveLength(50);
    expect(v.active).toBe(false);
  });
});

const code = (qboId: string, name: string, amount: string | null, active = true): QboTaxCodeView => ({
  qboId,
  name,
  amount,
  active,
});
const rate = (uuid: string, name: string, amount: string, active = true): Sm8TaxRateView => ({
  uuid,
  name,
  amount,
  active,
});
const linkOf = (id: string, c: QboTaxCodeView, r: Sm8TaxRateView): TaxLinkView => ({
  id,
  sm8Uuid: r.uuid,
  qboId: c.qboId,
  sm8Fingerprint: sm8TaxFingerprint(r),
  qboFingerprint: qboTaxFingerprint(c),
});
const newUuidFor = (qboId: string) => `new-${qboId}`;

describe('TAX-1 … TAX-3: the plan of one pass', () => {
  it('TAX-1: an unlinked ServiceM8 rate with the same name (any case) and rate is linked; others are created', () => {
    const gst = code('4', 'GST', '10.0000');
    const free = code('5', 'GST Free', '0.0000');
    const plan = planTaxSync({
      codes: [gst, free, code('6', 'GST on non-capital', null)],
      rates: [rate('a', ' gst ', '10')],
      links: [],
      newUuidFor,
    });
    expect(plan).toEqual([
      {
        kind: 'link',
        qboId: '4',
        sm8Uuid: 'a',
        before: { name: ' gst ', amount: '10', active: true },
        values: { name: 'GST', amount: '10.0000', active: true },
        qboFingerprint: qboTaxFingerprint(gst),
      },
      {
        kind: 'create',
        qboId: '5',
        sm8Uuid: 'new-5',
        values: { name: 'GST Free', amount: '0.0000', active: true },
        qboFingerprint: qboTaxFingerprint(free),
      },
    ]);
  });

  it('TAX-1: the same name with another rate is a different tax: not linked; the ServiceM8 one is deactivated', () => {
    const plan = planTaxSync({
      codes: [code('4', 'GST', '10.0000')],
      rates: [rate('a', 'GST', '12.5')],
      links: [],
      newUuidFor,
    });
    expect(plan.map((a) => [a.kind, 'sm8Uuid' in a ? a.sm8Uuid : undefined])).toEqual([
      ['create', 'new-4'],
      ['deactivateUnlinked', 'a'],
    ]);
  });

  it('TAX-1: our own earlier create (derived uuid) is linked again, whatever its name now', () => {
    const plan = planTaxSync({
      codes: [code('4', 'GST', '10.0000')],
      rates: [rate('other', 'GST', '10'), rate('new-4', 'renamed', '10')],
      links: [],
      newUuidFor,
    });
    expect(plan[0]).toMatchObject({ kind: 'link', sm8Uuid: 'new-4' });
    // The other "GST" 10 % is a harmless duplicate of an active code: left alone.
    expect(plan[1]).toEqual({ kind: 'unchanged', sm8Uuid: 'other' });
  });

  it('TAX-2: a renamed, re-rated or inactivated QuickBooks code updates its linked rate (cause qbo)', () => {
    const was = code('4', 'GST', '10.0000');
    const r = rate('a', 'GST', '10.0000');
    const link = linkOf('1', was, r);
    const renamed = planTaxSync({
      codes: [code('4', 'GST 2027', '12.0000')],
      rates: [r],
      links: [link],
      newUuidFor,
    });
    expect(renamed).toEqual([
      expect.objectContaining({
        kind: 'update',
        cause: 'qbo',
        values: { name: 'GST 2027', amount: '12.0000', active: true },
      }),
    ]);
    const inactivated = planTaxSync({
      codes: [code('4', 'GST', '10.0000', false)],
      rates: [r],
      links: [link],
      newUuidFor,
    });
    expect(inactivated).toEqual([
      expect.objectContaining({
        kind: 'update',
        cause: 'qbo',
        values: { name: 'GST', amount: '10.0000', active: false },
      }),
    ]);
  });

  it('TAX-3: an edit made in ServiceM8 to a linked rate is reverted (cause sm8); an unchanged one is left', () => {
    const gst = code('4', 'GST', '10.0000');
    const r = rate('a', 'GST', '10.0000');
    const link = linkOf('1', gst, r);
    expect(planTaxSync({ codes: [gst], rates: [r], links: [link], newUuidFor })).toEqual([
      expect.objectContaining({ kind: 'unchanged', refresh: false }),
    ]);
    const edited = rate('a', 'gst', '15');
    expect(planTaxSync({ codes: [gst], rates: [edited], links: [link], newUuidFor })).toEqual([
      expect.objectContaining({
        kind: 'update',
        cause: 'sm8',
        before: { name: 'gst', amount: '15', active: true },
        values: { name: 'GST', amount: '10.0000', active: true },
      }),
    ]);
    // Reactivating in ServiceM8 a rate whose code is inactive is an edit too.
    const inactive = code('4', 'GST', '10.0000', false);
    const off = rate('a', 'GST', '10.0000', false);
    const offLink = linkOf('1', inactive, off);
    expect(
      planTaxSync({ codes: [inactive], rates: [{ ...off, active: true }], links: [offLink], newUuidFor }),
    ).toEqual([
      expect.objectContaining({
        kind: 'update',
        cause: 'sm8',
        values: { name: 'GST', amount: '10.0000', active: false },
      }),
    ]);
  });

  it('TAX-3: a rate created in ServiceM8 is deactivated; an inactive one is left alone', () => {
    const plan = planTaxSync({
      codes: [code('4', 'GST', '10.0000')],
      rates: [rate('mine', 'Special 7%', '7'), rate('old', 'Old', '3', false)],
      links: [],
      newUuidFor,
    });
    expect(plan).toContainEqual({
      kind: 'deactivateUnlinked',
      sm8Uuid: 'mine',
      before: { name: 'Special 7%', amount: '7', active: true },
    });
    expect(plan).toContainEqual({ kind: 'unchanged', sm8Uuid: 'old' });
  });

  it('TAX-1: a linked rate missing from ServiceM8 is written again under its uuid; nothing is created twice', () => {
    const gst = code('4', 'GST', '10.0000');
    const link = linkOf('1', gst, rate('a', 'GST', '10.0000'));
    expect(planTaxSync({ codes: [gst], rates: [], links: [link], newUuidFor })).toEqual([
      expect.objectContaining({ kind: 'update', sm8Uuid: 'a', recreate: true }),
    ]);
    // A create that stopped after its link was stored (no fingerprints yet) is finished as a create.
    const unfinished = { ...link, sm8Fingerprint: null, qboFingerprint: null };
    expect(planTaxSync({ codes: [gst], rates: [], links: [unfinished], newUuidFor })).toEqual([
      expect.objectContaining({ kind: 'create', sm8Uuid: 'a', qboId: '4' }),
    ]);
  });
});
