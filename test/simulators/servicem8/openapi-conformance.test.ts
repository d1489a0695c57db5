/**
 * Responses of the seeded demo world validated against the official OpenAPI schemas
 * (simulators/servicem8/openapi.json, ServiceM8's own api.json).
 *
 * Relaxations, each because the spec contradicts ServiceM8's documented behaviour:
 * 1. `format: uuid` also accepts "": unset uuid references are "" (docs/servicem8-api.md §3, conventions),
 *    but the spec marks every reference (company_uuid, category_uuid, ...) as a uuid.
 * 2. `format: email` also accepts "": contacts without an email have "" rather than no field.
 * Nothing else is relaxed; `additionalProperties` is not set by the spec, so it is not added either.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { type AxiosInstance } from 'axios';
import { type RunningServiceM8Simulator } from '../../../simulators/servicem8';
import { loadOpenApiSpec } from '../../../simulators/servicem8/schemas';
import { apiClient, startSim } from './helpers';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function buildAjv(): Ajv {
  // strict: false because the spec uses OpenAPI-only keywords (example, readOnly on untyped fields).
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addFormat('uuid', (value: string) => value === '' || UUID.test(value));
  ajv.addFormat('email', (value: string) => value === '' || EMAIL.test(value));
  const spec = loadOpenApiSpec();
  ajv.addSchema({ $id: 'sm8', components: spec.components }, 'sm8');
  return ajv;
}

let sim: RunningServiceM8Simulator;
let api: AxiosInstance;
let ajv: Ajv;

beforeAll(async () => {
  sim = await startSim({ seedDemo: true });
  api = apiClient(sim);
  ajv = buildAjv();
});
afterAll(() => sim.stop());

function validator(schemaName: string, array: boolean): ValidateFunction {
  const ref = { $ref: `sm8#/components/schemas/${schemaName}` };
  return ajv.compile(array ? { type: 'array', items: ref } : ref);
}

function expectValid(validate: ValidateFunction, data: unknown): void {
  const valid = validate(data);
  expect(validate.errors ?? []).toEqual([]);
  expect(valid).toBe(true);
}

const cases: Array<[string, string]> = [
  ['job', 'Job'],
  ['jobmaterial', 'JobMaterial'],
  ['jobpayment', 'JobPayment'],
  ['company', 'Company'],
  ['companycontact', 'CompanyContact'],
  ['material', 'Material'],
  ['taxrate', 'TaxRate'],
  ['note', 'Note'],
  ['staff', 'Staff'],
  ['vendor', 'Vendor'],
];

describe.each(cases)('%s responses match the %s schema', (object, schemaName) => {
  it('list', async () => {
    const response = await api.get(`/${object}.json`);
    expect(response.status).toBe(200);
    expect((response.data as unknown[]).length).toBeGreaterThan(0);
    expectValid(validator(schemaName, true), response.data);
  });

  it('read', async () => {
    const list = (await api.get(`/${object}.json`)).data as Array<{ uuid: string }>;
    const path = object === 'note' ? 'dbonote' : object;
    const response = await api.get(`/${path}/${String(list[0]?.uuid)}.json`);
    expect(response.status).toBe(200);
    expectValid(validator(schemaName, false), response.data);
  });
});

describe('write and error responses match their schemas', () => {
  it('Result for create/update/delete, Error/AuthenticationError/NotFoundError/RateLimitError bodies', async () => {
    const result = validator('Result', false);
    const created = await api.post('/company.json', { name: 'Schema Check Pty Ltd' });
    expectValid(result, created.data);
    const uuid = String(created.headers['x-record-uuid']);
    expectValid(result, (await api.post(`/company/${uuid}.json`, { name: 'Renamed' })).data);
    expectValid(result, (await api.delete(`/company/${uuid}.json`)).data);
    const unauthenticated = await apiClient(sim, { 'X-Api-Key': 'wrong' }).get('/job.json');
    expectValid(validator('AuthenticationError', false), unauthenticated.data);
    const missing = await api.get('/job/00000000-0000-4000-8000-000000000000.json');
    expectValid(validator('NotFoundError', false), missing.data);
    sim.control.faults.add({ path: '/api_1.0/job.json', status: 429, count: 1 });
    expectValid(validator('RateLimitError', false), (await api.get('/job.json')).data);
  });

  it('documents that the 400 errorCode "1000" is a string although the Error schema says number', async () => {
    const invalid = await api.post('/job.json', {});
    expect(invalid.status).toBe(400);
    const validate = validator('Error', false);
    expect(validate(invalid.data)).toBe(false);
    expect(invalid.data.errorCode).toBe('1000');
  });
});
