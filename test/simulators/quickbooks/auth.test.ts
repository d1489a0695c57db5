import { apiClient, startTestSim, type TestSim } from './helpers';

describe('QBO simulator: bearer authentication on the Accounting API', () => {
  let t: TestSim;
  beforeEach(async () => {
    t = await startTestSim();
  });
  afterEach(async () => {
    await t.sim.stop();
  });

  it('a missing token answers 401 with the lower-case fault body (3200) and www-authenticate', async () => {
    const response = await apiClient(t.sim, '').get('/preferences', {
      headers: { Authorization: undefined },
    });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="Intuit", error="invalid_token"');
    expect(response.data.fault.error[0]).toMatchObject({
      message: 'message=AuthenticationFailed; errorCode=003200; statusCode=401',
      code: '3200',
      element: null,
    });
    expect(response.data.fault.type).toBe('AUTHENTICATION');
    expect(response.data.batchItemResponse).toEqual([]);
    expect(response.data.Fault).toBeUndefined();
  });

  it('an access token expires after its TTL on the simulated clock', async () => {
    expect((await t.api.get('/preferences')).status).toBe(200);
    t.sim.control.advanceClock(3601 * 1000);
    const expired = await t.api.get('/preferences');
    expect(expired.status).toBe(401);
    expect(expired.data.fault.error[0].detail).toMatch(/^Token expired/);
  });

  it("a token used against another company's realmId answers 403 (3100)", async () => {
    const other = t.sim.control.createRealm({ realmId: '4620816365000000' });
    const response = await apiClient(t.sim, t.accessToken, other).get('/preferences');
    expect(response.status).toBe(403);
    expect(response.data.Fault.Error[0].code).toBe('3100');
    const ownToken = t.sim.control.issueTokens(other);
    expect((await apiClient(t.sim, ownToken.access_token, other).get('/preferences')).status).toBe(200);
  });

  it('serves CompanyInfo and AU Preferences (GST on, no AST, AUD, custom txn numbers) with a time envelope', async () => {
    const info = await t.api.get(`/companyinfo/${t.sim.realmId}`);
    expect(info.data.CompanyInfo.Country).toBe('AU');
    expect(info.data.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}-07:00$/);
    const prefs = (await t.api.get('/preferences')).data.Preferences;
    expect(prefs.TaxPrefs).toMatchObject({ UsingSalesTax: true, PartnerTaxEnabled: false });
    expect(prefs.CurrencyPrefs.HomeCurrency.value).toBe('AUD');
    expect(prefs.SalesFormsPrefs.CustomTxnNumbers).toBe(true);
  });

  it('a US company variant has TAX/NON codes, automated sales tax and USD', async () => {
    const realm = t.sim.control.createRealm({ country: 'US' });
    const api = apiClient(t.sim, t.sim.control.issueTokens(realm).access_token, realm);
    const prefs = (await api.get('/preferences')).data.Preferences;
    expect(prefs.TaxPrefs.PartnerTaxEnabled).toBe(true);
    expect(prefs.CurrencyPrefs.HomeCurrency.value).toBe('USD');
    const codes = (await api.get('/query', { params: { query: 'select * from TaxCode' } })).data.QueryResponse
      .TaxCode;
    expect(codes.map((code: { Id: string }) => code.Id)).toEqual(expect.arrayContaining(['TAX', 'NON']));
  });
});
