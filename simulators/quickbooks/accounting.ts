import { runBatch } from './batch';
import { changeDataCapture } from './cdc';
import { type Simulator } from './context';
import { isSalesForm } from './entities/sales-form';
import { QboFault, faults } from './errors';
import { entityForSegment, executeWrite, runQuery } from './operations';
import { type Company } from './store';
import { clone } from './types';

export interface ApiRequest {
  method: string;
  /** Path after /v3/company/{realmId}/, without the query string. */
  path: string;
  query: Record<string, string | undefined>;
  body: unknown;
}

export interface ApiResult {
  status: number;
  body: unknown;
  contentType?: string;
  /** CorePlus (data-out) call, counted in stats. */
  metered: boolean;
}

function includesOf(query: Record<string, string | undefined>): Set<string> {
  return new Set(
    (query.include ?? '')
      .split(',')
      .map((value) => value.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** Routes one Accounting API request to the engine; the `time` envelope is added by the caller. */
export function routeAccounting(sim: Simulator, company: Company, request: ApiRequest): ApiResult {
  const segments = request.path.split('/').filter(Boolean);
  const [first, second, third] = segments;
  const get = request.method === 'GET';
  const post = request.method === 'POST';

  if (get && first === 'companyinfo' && segments.length === 2) {
    if (second !== company.realmId) throw faults.objectNotFound();
    return { status: 200, body: { CompanyInfo: clone(company.companyInfo) }, metered: true };
  }
  if (get && first === 'preferences' && segments.length === 1) {
    return { status: 200, body: { Preferences: clone(company.preferences) }, metered: true };
  }
  if (first === 'query' && segments.length === 1 && (get || post)) {
    const sql = get ? request.query.query : typeof request.body === 'string' ? request.body : undefined;
    return { status: 200, body: { QueryResponse: runQuery(sim, company, sql) }, metered: true };
  }
  if (get && first === 'cdc' && segments.length === 1) {
    const response = changeDataCapture(
      sim.service,
      company,
      request.query.entities,
      request.query.changedSince,
      sim.clock.nowMs(),
    );
    return { status: 200, body: { CDCResponse: response }, metered: true };
  }
  if (post && first === 'batch' && segments.length === 1) {
    return { status: 200, body: runBatch(sim, company, request.body), metered: false };
  }

  const entity = entityForSegment(first);
  if (!entity) throw new QboFault(404, 'ValidationFault', faults.unknownResource(request.path).errors);

  if (get && second !== undefined && segments.length === 2) {
    return { status: 200, body: { [entity]: sim.service.read(company, entity, second) }, metered: true };
  }
  if (get && isSalesForm(entity) && second !== undefined && third === 'pdf' && segments.length === 3) {
    sim.service.read(company, entity, second);
    const pdf = `%PDF-1.4\n% QBO simulator ${entity} ${second}\n%%EOF\n`;
    return { status: 200, body: Buffer.from(pdf), contentType: 'application/pdf', metered: true };
  }
  if (post && isSalesForm(entity) && second !== undefined && third === 'send' && segments.length === 3) {
    const sendTo =
      request.query.sendTo === undefined || request.query.sendTo === '' ? undefined : request.query.sendTo;
    return {
      status: 200,
      body: { [entity]: sim.service.sendSalesForm(company, entity, second, sendTo) },
      metered: false,
    };
  }
  if (post && segments.length === 1) {
    const result = executeWrite(
      sim,
      company,
      entity,
      request.query.operation,
      request.body,
      includesOf(request.query),
    );
    return { status: 200, body: { [entity]: result }, metered: false };
  }
  throw new QboFault(404, 'ValidationFault', faults.unknownResource(request.path).errors);
}
