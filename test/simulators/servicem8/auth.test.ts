import axios from 'axios';
import {
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  type RunningServiceM8Simulator,
} from '../../../simulators/servicem8';
import { apiClient, rootClient, startSim } from './helpers';

let sim: RunningServiceM8Simulator;
const frozen = new Date('2026-01-01T00:00:00Z');
const AUTH_FAILED = {
  errorCode: 401,
  message: 'Authentication failed. Please check your API key or OAuth token.',
};
const REDIRECT = 'https://app.example/callback';

beforeAll(async () => {
  sim = await startSim({ now: () => frozen, readOnlyApiKey: 'smk-readonly' });
});
afterAll(() => sim.stop());
beforeEach(() => {
  sim.control.reset('empty');
  sim.control.updateSettings({ rotateRefreshToken: false });
});

/** A client that authenticates with an OAuth access token only. */
function bearer(token: string) {
  return axios.create({
    baseURL: `${sim.url}/api_1.0`,
    headers: { Authorization: `Bearer ${token}` },
    validateStatus: () => true,
  });
}

async function authorize(scope: string, state = 'xyz'): Promise<URL> {
  const response = await rootClient(sim).get('/oauth/authorize', {
    params: { response_type: 'code', client_id: DEFAULT_CLIENT_ID, redirect_uri: REDIRECT, scope, state },
  });
  expect(response.status).toBe(302);
  return new URL(String(response.headers.location));
}

async function exchange(fields: Record<string, string>) {
  return rootClient(sim).post(
    '/oauth/access_token',
    new URLSearchParams({
      client_id: DEFAULT_CLIENT_ID,
      client_secret: DEFAULT_CLIENT_SECRET,
      ...fields,
    }).toString(),
    { headers: { 'content-type': 'application/x-www-form-urlencoded' } },
  );
}

describe('API key', () => {
  it('answers the documented 401 without credentials or with a wrong key', async () => {
    const none = await axios.get(`${sim.url}/api_1.0/job.json`, { validateStatus: () => true });
    expect(none.status).toBe(401);
    expect(none.data).toEqual(AUTH_FAILED);
    const wrong = await apiClient(sim, { 'X-Api-Key': 'smk-wrong' }).get('/job.json');
    expect(wrong.status).toBe(401);
    expect(wrong.data).toEqual(AUTH_FAILED);
  });

  it('accepts the key under any header capitalisation', async () => {
    const response = await axios.get(`${sim.url}/api_1.0/job.json`, {
      headers: { 'x-API-key': 'smk-sim-0000' },
      validateStatus: () => true,
    });
    expect(response.status).toBe(200);
  });

  it('a read-only key reads but may not write', async () => {
    const readOnly = apiClient(sim, { 'X-Api-Key': 'smk-readonly' });
    expect((await readOnly.get('/company.json')).status).toBe(200);
    expect((await readOnly.post('/company.json', { name: 'X' })).status).toBe(403);
    expect(sim.store.count('company')).toBe(0);
  });
});

describe('OAuth 2.0', () => {
  it('authorize auto-consents and redirects with code and state; the code exchanges once for tokens', async () => {
    const location = await authorize('read_jobs manage_jobs', 'state-123');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('state')).toBe('state-123');
    const code = String(location.searchParams.get('code'));
    const tokens = await exchange({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(tokens.status).toBe(200);
    expect(tokens.data).toMatchObject({
      token_type: 'bearer',
      expires_in: 3600,
      scope: 'read_jobs manage_jobs',
    });
    expect(typeof tokens.data.access_token).toBe('string');
    expect(typeof tokens.data.refresh_token).toBe('string');
    expect((await bearer(tokens.data.access_token as string).get('/job.json')).status).toBe(200);

    const reused = await exchange({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(reused.status).toBe(400);
    expect(reused.data.error).toBe('invalid_grant');
  });

  it('rejects a wrong client secret, a wrong redirect_uri and an unknown scope', async () => {
    const code = String((await authorize('read_jobs')).searchParams.get('code'));
    const badSecret = await exchange({ grant_type: 'authorization_code', code, client_secret: 'nope' });
    expect(badSecret.status).toBe(401);
    expect(badSecret.data.error).toBe('invalid_client');
    const code2 = String((await authorize('read_jobs')).searchParams.get('code'));
    const badRedirect = await exchange({
      grant_type: 'authorization_code',
      code: code2,
      redirect_uri: 'https://evil.example/cb',
    });
    expect(badRedirect.data.error).toBe('invalid_grant');
    const badScope = await authorize('read_everything');
    expect(badScope.searchParams.get('error')).toBe('invalid_scope');
    expect(badScope.searchParams.get('code')).toBeNull();
  });

  it('refresh returns a new access token and keeps the refresh token unless rotation is switched on', async () => {
    const initial = sim.control.oauth.issueToken(['read_customers']);
    const refreshed = await exchange({ grant_type: 'refresh_token', refresh_token: initial.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.data.access_token).not.toBe(initial.access_token);
    expect(refreshed.data.refresh_token).toBe(initial.refresh_token);

    sim.control.updateSettings({ rotateRefreshToken: true });
    const rotated = await exchange({ grant_type: 'refresh_token', refresh_token: initial.refresh_token });
    expect(rotated.data.refresh_token).not.toBe(initial.refresh_token);
    const old = await exchange({ grant_type: 'refresh_token', refresh_token: initial.refresh_token });
    expect(old.status).toBe(400);
    expect(old.data.error).toBe('invalid_grant');
  });

  it('a revoked refresh token answers invalid_grant (re-authorisation needed)', async () => {
    const tokens = sim.control.oauth.issueToken(['read_jobs']);
    expect(sim.control.oauth.revokeRefreshToken(tokens.refresh_token)).toBe(true);
    const response = await exchange({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    expect(response.status).toBe(400);
    expect(response.data).toMatchObject({ error: 'invalid_grant' });
  });

  it('access tokens expire on the sim clock', async () => {
    const tokens = sim.control.oauth.issueToken(['read_jobs']);
    const client = bearer(tokens.access_token);
    expect((await client.get('/job.json')).status).toBe(200);
    sim.control.clock.advance(3_600_000);
    const expired = await client.get('/job.json');
    expect(expired.status).toBe(401);
    expect(expired.data).toEqual(AUTH_FAILED);
  });
});

describe('scopes', () => {
  const insufficient = (scope: string) => ({
    errorCode: 403,
    message: `insufficient_scope: "${scope}" scope required to complete this request`,
  });

  it('job create needs create_jobs, not manage_jobs; update and delete need manage_jobs', async () => {
    const manage = bearer(sim.control.oauth.issueToken(['read_jobs', 'manage_jobs']).access_token);
    const denied = await manage.post('/job.json', { status: 'Quote' });
    expect(denied.status).toBe(403);
    expect(denied.data).toEqual(insufficient('create_jobs'));

    const create = bearer(sim.control.oauth.issueToken(['create_jobs']).access_token);
    const created = await create.post('/job.json', { status: 'Quote' });
    expect(created.status).toBe(200);
    const uuid = created.headers['x-record-uuid'] as string;
    expect((await create.post(`/job/${uuid}.json`, { status: 'Work Order' })).data).toEqual(
      insufficient('manage_jobs'),
    );
    expect((await create.get('/job.json')).data).toEqual(insufficient('read_jobs'));
    expect((await manage.post(`/job/${uuid}.json`, { status: 'Work Order' })).status).toBe(200);
    expect((await manage.delete(`/job/${uuid}.json`)).status).toBe(200);
  });

  it.each([
    ['company', 'read_customers', 'manage_customers'],
    ['companycontact', 'read_customer_contacts', 'manage_customer_contacts'],
    ['jobmaterial', 'read_job_materials', 'manage_job_materials'],
    ['jobpayment', 'read_job_payments', 'manage_job_payments'],
    ['material', 'read_inventory', 'manage_inventory'],
    ['taxrate', 'read_tax_rates', 'manage_tax_rates'],
    ['note', 'read_job_notes', 'publish_job_notes'],
    ['staff', 'read_staff', 'manage_staff'],
  ])('%s needs %s to read and %s to write', async (object, read, write) => {
    const nothing = bearer(sim.control.oauth.issueToken(['vendor']).access_token);
    const listDenied = await nothing.get(`/${object}.json`);
    expect(listDenied.status).toBe(403);
    expect(listDenied.data).toEqual(insufficient(read));
    const reader = bearer(sim.control.oauth.issueToken([read]).access_token);
    expect((await reader.get(`/${object}.json`)).status).toBe(200);
    const writeDenied = await reader.post(`/${object}.json`, {});
    expect(writeDenied.status).toBe(403);
    expect(writeDenied.data).toEqual(insufficient(write));
  });

  it('vendor needs the vendor scope', async () => {
    const none = bearer(sim.control.oauth.issueToken(['read_jobs']).access_token);
    expect((await none.get('/vendor.json')).data).toEqual(insufficient('vendor'));
    const vendor = bearer(sim.control.oauth.issueToken(['vendor']).access_token);
    expect((await vendor.get('/vendor.json')).status).toBe(200);
  });
});
