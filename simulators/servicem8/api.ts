/**
 * The API surface clients see: `/api_1.0/{object}.json` and `/api_1.0/{object}/{uuid}.json`,
 * `/webhook_subscriptions`, and the OAuth endpoints. Transport-free: takes a request view, returns a
 * response view; server.ts does the HTTP.
 *
 * Order of checks on `/api_1.0`: authentication (401) → impersonation (403) → rate limit (429) → object
 * and scope (404/403) → the operation.
 */
import { type AuthKind, OAuthError, type Principal } from './auth';
import { type Operation } from './calls';
import { type SimContext } from './context';
import { Sm8ApiError, forbiddenError, notFoundError, validationError } from './errors';
import { matchesFilter, resolveFilter } from './filter';
import { isUuid } from './records';
import { type ObjectDef, objectDef, resolveObjectName } from './schemas';
import { type Sm8Record } from './store';

export interface ApiRequest {
  method: string;
  /** The raw request URL, undecoded (the `$filter` gotcha depends on it). */
  rawUrl: string;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  body: unknown;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Filled in while handling, for the call log. */
export interface CallInfo {
  object?: string;
  operation: Operation;
  uuid?: string;
  authKind: AuthKind;
  filter?: string;
}

const OK = { errorCode: 0, message: 'OK' };

function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw validationError('the request body must be a JSON object of field names and values');
  }
  return body as Record<string, unknown>;
}

function operationOf(method: string, hasUuid: boolean): Operation {
  if (method === 'GET') return hasUuid ? 'read' : 'list';
  if (method === 'POST') return hasUuid ? 'update' : 'create';
  if (method === 'DELETE') return 'delete';
  return 'unknown';
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export class ApiHandlers {
  constructor(private readonly ctx: SimContext) {}

  /** Authenticates, checks impersonation and counts the request against the rate limit. */
  private admit(request: ApiRequest, info: CallInfo): { principal: Principal; actor?: string } {
    const principal = this.ctx.auth.authenticate(request.headers);
    info.authKind = principal.kind;
    const impersonate = headerValue(request.headers['x-impersonate-uuid']);
    let actor: string | undefined;
    if (impersonate !== undefined && impersonate !== '') {
      const staff = isUuid(impersonate) ? this.ctx.store.get('staff', impersonate) : undefined;
      if (!staff || staff.active !== 1) {
        throw forbiddenError('Invalid staff member UUID specified for impersonation');
      }
      actor = String(staff.uuid);
    }
    this.ctx.limiter.consume(principal.bucket);
    return actor === undefined ? { principal } : { principal, actor };
  }

  /** `/api_1.0/{object}.json` and `/api_1.0/{object}/{uuid}.json`. `rest` is the path after `/api_1.0/`. */
  object(request: ApiRequest, rest: string, info: CallInfo): ApiResponse {
    const segments = rest.split('/');
    const last = segments[segments.length - 1] ?? '';
    const jsonMatch = /^(.*)\.json$/i.exec(last);
    const objectSegment = segments.length === 1 ? jsonMatch?.[1] : segments[0];
    const uuidSegment = segments.length === 2 ? jsonMatch?.[1] : undefined;
    const object = objectSegment ? resolveObjectName(objectSegment) : undefined;
    if (object) info.object = object;
    if (uuidSegment !== undefined) info.uuid = uuidSegment.toLowerCase();
    const method = request.method.toUpperCase();
    info.operation = operationOf(method, uuidSegment !== undefined);

    const { principal, actor } = this.admit(request, info);
    if (!object || !jsonMatch || segments.length > 2 || (segments.length === 2 && !uuidSegment)) {
      throw notFoundError();
    }
    const def = objectDef(object);
    if (info.operation === 'unknown') {
      return {
        status: 405,
        body: { errorCode: 405, message: `${method} is not supported; use GET, POST or DELETE` },
      };
    }
    const write = info.operation !== 'list' && info.operation !== 'read';
    const scopes =
      info.operation === 'create' ? def.scopes.create : write ? def.scopes.update : def.scopes.read;
    this.ctx.auth.authorize(principal, scopes, write);
    if (write && !def.writable) {
      return { status: 405, body: { errorCode: 405, message: `${def.resourceName} records are read-only` } };
    }
    const options = actor === undefined ? {} : { actorStaffUuid: actor };

    switch (info.operation) {
      case 'list':
        return this.list(request, def, info);
      case 'read':
        return {
          status: 200,
          body: this.present(def, this.ctx.records.read(object, this.requireUuid(uuidSegment))),
        };
      case 'create': {
        const result = this.ctx.records.create(object, bodyObject(request.body), options);
        this.ctx.webhooks.notify(result.changes);
        return { status: 200, body: OK, headers: { 'x-record-uuid': result.uuid } };
      }
      case 'update': {
        const result = this.ctx.records.update(
          object,
          this.requireUuid(uuidSegment),
          bodyObject(request.body),
          options,
        );
        this.ctx.webhooks.notify(result.changes);
        return { status: 200, body: OK };
      }
      case 'delete': {
        const result = this.ctx.records.remove(object, this.requireUuid(uuidSegment), options);
        this.ctx.webhooks.notify(result.changes);
        return { status: 200, body: OK };
      }
    }
    throw notFoundError();
  }

  private requireUuid(segment: string | undefined): string {
    if (segment === undefined || !isUuid(segment)) throw notFoundError();
    return segment;
  }

  /**
   * Lists records in insertion order, inactive ones included. `cursor=-1` starts cursor paging: each page
   * holds up to `pageSize` records and `x-next-cursor` (the uuid of the page's last record) is sent while
   * more remain. Without `cursor` every record comes back in one array (UNCONFIRMED; see
   * `listWithoutCursor`).
   */
  private list(request: ApiRequest, def: ObjectDef, info: CallInfo): ApiResponse {
    const all = this.ctx.store.list(def.name);
    const filter = resolveFilter(request.rawUrl, def);
    if (filter.kind === 'ignored') info.filter = `ignored: ${filter.reason}`;
    if (filter.kind === 'applied') info.filter = 'applied';
    const matching =
      filter.kind === 'applied' ? all.filter((r) => matchesFilter(def, r, filter.conditions)) : all;
    const cursorParam = request.query.cursor;
    const cursor = typeof cursorParam === 'string' ? cursorParam : undefined;
    if (cursor === undefined && this.ctx.settings.listWithoutCursor === 'all') {
      return { status: 200, body: matching.map((r) => this.present(def, r)) };
    }
    let remaining: Sm8Record[] = matching;
    if (cursor !== undefined && cursor !== '-1') {
      const position = all.findIndex((r) => String(r.uuid) === cursor.toLowerCase());
      if (position < 0) throw validationError(`cursor '${cursor}' is not a valid cursor`);
      const after = new Set(all.slice(position + 1).map((r) => String(r.uuid)));
      remaining = matching.filter((r) => after.has(String(r.uuid)));
    }
    const page = remaining.slice(0, this.ctx.settings.pageSize);
    const headers: Record<string, string> = {};
    const lastOfPage = page[page.length - 1];
    if (remaining.length > page.length && lastOfPage) headers['x-next-cursor'] = String(lastOfPage.uuid);
    return { status: 200, body: page.map((r) => this.present(def, r)), headers };
  }

  /** A stored record as served; only differs from storage for the company.is_individual switch. */
  private present(def: ObjectDef, record: Sm8Record): Sm8Record {
    if (def.name === 'company' && this.ctx.settings.companyIsIndividualAsString) {
      return { ...record, is_individual: String(record.is_individual) };
    }
    return record;
  }

  /** `/webhook_subscriptions`: POST add/modify, GET list (`status=active|inactive|all`), DELETE remove. */
  async webhookSubscriptions(request: ApiRequest, info: CallInfo): Promise<ApiResponse> {
    info.operation = 'webhook_subscriptions';
    const { principal } = this.admit(request, info);
    const method = request.method.toUpperCase();
    const params = { ...request.query, ...bodyObject(request.body) };
    if (method === 'GET') {
      const status = typeof params.status === 'string' ? params.status : 'active';
      if (status !== 'active' && status !== 'inactive' && status !== 'all') {
        throw validationError("status must be 'active', 'inactive' or 'all'");
      }
      return { status: 200, body: this.ctx.webhooks.list(status) };
    }
    if (principal.readOnly) throw forbiddenError();
    if (method === 'POST') {
      const subscription = await this.ctx.webhooks.subscribe(params);
      return { status: 200, body: { success: true, subscription } };
    }
    if (method === 'DELETE') {
      const removed = this.ctx.webhooks.unsubscribe(params);
      return { status: 200, body: { success: true, removed } };
    }
    return { status: 405, body: { errorCode: 405, message: `${method} is not supported` } };
  }

  /** `GET /oauth/authorize`: auto-consent, 302 to the redirect_uri. */
  oauthAuthorize(request: ApiRequest, info: CallInfo): ApiResponse {
    info.operation = 'oauth_authorize';
    try {
      return { status: 302, headers: { location: this.ctx.auth.authorizeRedirect(request.query) } };
    } catch (error) {
      if (error instanceof OAuthError) return { status: error.status, body: error.body };
      throw error;
    }
  }

  /** `POST /oauth/access_token`. */
  oauthToken(request: ApiRequest, info: CallInfo): ApiResponse {
    info.operation = 'oauth_token';
    try {
      const params = { ...request.query, ...bodyObject(request.body) };
      return { status: 200, body: this.ctx.auth.exchange(params), headers: { 'cache-control': 'no-store' } };
    } catch (error) {
      if (error instanceof OAuthError) return { status: error.status, body: error.body };
      if (error instanceof Sm8ApiError) return { status: 400, body: { error: 'invalid_request' } };
      throw error;
    }
  }
}
