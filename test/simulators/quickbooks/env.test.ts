import {
  quickBooksSimulatorOptionsFromEnv,
  startQuickBooksSimulator,
} from '../../../simulators/quickbooks/index';

describe('QBO simulator: options from environment variables', () => {
  it('defaults the standalone port to 4020 and leaves the rest to the documented defaults', () => {
    expect(quickBooksSimulatorOptionsFromEnv({})).toEqual({ port: 4020, throttle: {} });
  });

  it('reads every variable', () => {
    const options = quickBooksSimulatorOptionsFromEnv({
      QBO_SIM_PORT: '0',
      QBO_SIM_CLIENT_ID: 'id',
      QBO_SIM_CLIENT_SECRET: 'secret',
      QBO_SIM_REALM_ID: '123',
      QBO_SIM_WEBHOOK_VERIFIER: 'v',
      QBO_SIM_WEBHOOK_URL: 'http://localhost:3000/qbo',
      QBO_SIM_WEBHOOK_FORMAT: 'legacy',
      QBO_SIM_ACCESS_TOKEN_TTL: '60',
      QBO_SIM_REFRESH_ROTATION: 'every-refresh',
      QBO_SIM_REFRESH_GRACE: '30',
      QBO_SIM_REQUESTID_MODE: 'fault600',
      QBO_SIM_THROTTLE_PER_MINUTE: '100',
      QBO_SIM_THROTTLE_XML: 'true',
      QBO_SIM_SEED_DEMO: '1',
      QBO_SIM_TAX_INCLUSIVE_AMOUNT_IS_GROSS: 'true',
      QBO_SIM_PHONE_MAX_LENGTH: '30',
      QBO_SIM_EMPTY_EMAIL_CLEARS: 'false',
      QBO_SIM_PAYMENT_OPERATION_VOID: 'true',
      QBO_SIM_ALLOW_NEGATIVE_LINES: 'false',
      QBO_SIM_MULTI_CURRENCY: 'true',
      QBO_SIM_CURRENCY_REF_REQUIRED: 'true',
    });
    expect(options).toMatchObject({
      port: 0,
      clientId: 'id',
      realmId: '123',
      webhookUrl: 'http://localhost:3000/qbo',
      webhookFormat: 'legacy',
      accessTokenTtlSeconds: 60,
      refreshTokenRotation: 'every-refresh',
      refreshTokenGraceSeconds: 30,
      requestIdMode: 'fault600',
      throttle: { perMinute: 100, xmlBody: true },
      seedDemo: true,
      taxInclusiveAmountIsGross: true,
      phoneMaxLength: 30,
      emptyEmailClears: false,
      paymentOperationVoid: true,
      allowNegativeLines: false,
      multiCurrency: true,
      currencyRefRequired: true,
    });
    expect(
      quickBooksSimulatorOptionsFromEnv({ QBO_SIM_TAX_INCLUSIVE_AMOUNT_IS_GROSS: 'false' })
        .taxInclusiveAmountIsGross,
    ).toBe(false);
  });

  it.each([
    ['QBO_SIM_PORT', 'abc'],
    ['QBO_SIM_ACCESS_TOKEN_TTL', '0'],
    ['QBO_SIM_WEBHOOK_FORMAT', 'xml'],
    ['QBO_SIM_REFRESH_ROTATION', 'weekly'],
    ['QBO_SIM_REQUESTID_MODE', 'ignore'],
    ['QBO_SIM_WEBHOOK_URL', 'not a url'],
    ['QBO_SIM_SEED_DEMO', 'maybe'],
    ['QBO_SIM_TAX_INCLUSIVE_AMOUNT_IS_GROSS', 'gross'],
    ['QBO_SIM_PHONE_MAX_LENGTH', '-1'],
    ['QBO_SIM_EMPTY_EMAIL_CLEARS', 'perhaps'],
    ['QBO_SIM_MULTI_CURRENCY', 'several'],
  ])('names the variable when %s is invalid (%s)', (name, value) => {
    expect(() => quickBooksSimulatorOptionsFromEnv({ [name]: value })).toThrow(name);
  });

  it('starts from env options and stops cleanly', async () => {
    const sim = await startQuickBooksSimulator({
      ...quickBooksSimulatorOptionsFromEnv({ QBO_SIM_PORT: '0', QBO_SIM_REALM_ID: '777' }),
    });
    expect(sim.realmId).toBe('777');
    expect(sim.store.realms()).toEqual(['777']);
    await sim.stop();
    await sim.stop();
  });
});
