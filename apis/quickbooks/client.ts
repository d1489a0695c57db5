/**
 * QuickBooks Online Accounting API client: one function per endpoint the sync uses. Every call takes a
 * permit from the connection's rate governor, carries a fresh access token (a 401 refreshes and retries
 * once), and fails with a classified ApplicationFailure (apis/errors.ts).
 */
import axios, { isAxiosError, type Method } from 'axios';
import type { QboEntityName, QboQueryResponse } from '../../domain/quickbooks-types';
import { countedCall } from '../../infra/metrics';
import { classifyApiError, isRateLimited, RATE_LIMIT_RETRIES, retryAfterMs } from '../errors';
import { apiAnswered, sendAgain } from '../transient-retry';
import type { Governor, GovernedApi } from '../governor/governor';
import type { QboAccess, QboTokenManager } from './tokens';

export const QBO_MINOR_VERSION = '75';

export interface QuickBooksClientDeps {
  apiBaseUrl: string;
  tokens: QboTokenManager;
  governor: Governor;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** The retry delay of an activity whose call drew 429 several times in a row (documented wait: 60 s). */
  rateLimitWaitMs?: number;
}

interface CallOptions {
  method: Method;
  path: string;
  params?: Record<string, string>;
  data?: unknown;
  contentType?: string;
  api?: GovernedApi;
}

export class QuickBooksClient {
  constructor(
    private readonly deps: QuickBooksClientDeps,
    readonly connectionId: string,
  ) {}

  private async call<T>(op: CallOptions): Promise<T> {
    const api = op.api ?? 'qbo';
    let refused: string | null = null; // the access token QuickBooks answered 401 to
    let throttled = 0; // 429s answered to this call so far
    let passing = 0; // failures in passing sent again so far (transient-retry.ts)
    for (let attempt = 0; ; attempt += 1) {
      let sent: QboAccess | undefined;
      const requestedAt = performance.now();
      try {
        const res = await this.deps.governor.run(
          this.connectionId,
          api,
          async ({ waitedFor }) => {
            // The token is taken after the permit, right before sending: waiting for a permit never ages it.
            const access = refused
              ? await this.deps.tokens.refreshAfterUnauthorized(this.connectionId, refused)
              : await this.deps.tokens.getAccess(this.connectionId);
            sent = access;
            return countedCall('quickbooks', op.path, requestedAt, waitedFor, () =>
              axios.request<T>({
                baseURL: `${this.deps.apiBaseUrl}/v3/company/${encodeURIComponent(access.realmId)}`,
                url: op.path,
                method: op.method,
                params: { minorversion: QBO_MINOR_VERSION, ...op.params },
                data: op.data,
                headers: {
                  Authorization: `Bearer ${access.accessToken}`,
                  Accept: 'application/json',
                  ...(op.data !== undefined ? { 'Content-Type': op.contentType ?? 'application/json' } : {}),
                },
                timeout: this.deps.timeoutMs ?? 60_000,
                signal: this.deps.signal,
              }),
            );
          },
          { signal: this.deps.signal },
        );
        apiAnswered('qbo');
        return res.data;
      } catch (err) {
        // 401: refresh (unless someone already did) and send again; twice at most before giving up.
        if (isAxiosError(err) && err.response?.status === 401 && sent && attempt - throttled - passing < 2) {
          refused = sent.accessToken;
          continue;
        }
        if (isRateLimited(err)) {
          // The governor holds off for the Retry-After, or slows down when our pace explains the 429; then
          // the call is sent again through it, which waits as long as that takes: a 429 costs a wait, not an
          // activity failure (issue 12).
          await this.deps.governor.refused(this.connectionId, api, retryAfterMs(err));
          throttled += 1;
          if (throttled <= RATE_LIMIT_RETRIES) continue;
        }
        if (await sendAgain('qbo', err, passing, this.deps.signal)) {
          passing += 1;
          continue;
        }
        throw classifyApiError('qbo', err, { rateLimitWaitMs: this.deps.rateLimitWaitMs });
      }
    }
  }

  getCompanyInfo(realmId: string): Promise<{ CompanyInfo: Record<string, unknown> }> {
    return this.call({ method: 'GET', path: `/companyinfo/${encodeURIComponent(realmId)}` });
  }

  getPreferences(): Promise<{ Preferences: Record<string, unknown> }> {
    return this.call({ method: 'GET', path: '/preferences' });
  }

  /** Runs a query statement (POST /query keeps long statements out of the URL). */
  query<E extends QboEntityName, T = Record<string, unknown>>(entity: E, statement: string): Promise<T[]> {
    return this.call<QboQueryResponse<E, T>>({
      method: 'POST',
      path: '/query',
      data: statement,
      contentType: 'application/text',
    }).then((r) => (r.QueryResponse[entity] as T[] | undefined) ?? []);
  }

  /** `SELECT COUNT(*) FROM entity [WHERE where]`: QuickBooks answers `{"totalCount": N}`. */
  count(entity: QboEntityName, where?: string): Promise<number> {
    return this.call<QboQueryResponse<typeof entity, never>>({
      method: 'POST',
      path: '/query',
      data: `SELECT COUNT(*) FROM ${entity}${where ? ` WHERE ${where}` : ''}`,
      contentType: 'application/text',
    }).then((r) => r.QueryResponse.totalCount ?? 0);
  }

  read<T>(entity: QboEntityName, id: string): Promise<T> {
    return this.call<Record<string, T>>({
      method: 'GET',
      path: `/${entity.toLowerCase()}/${encodeURIComponent(id)}`,
    }).then((r) => r[entity] as T);
  }

  /** Create with a requestid: a retry after a lost response replays QBO's first answer instead of duplicating. */
  create<T>(entity: QboEntityName, body: object, requestId: string): Promise<T> {
    return this.call<Record<string, T>>({
      method: 'POST',
      path: `/${entity.toLowerCase()}`,
      params: { requestid: requestId },
      data: body,
    }).then((r) => r[entity] as T);
  }

  /** Sparse update (only the given fields; a Line array replaces all lines). Needs Id and current SyncToken. */
  update<T>(
    entity: QboEntityName,
    body: { Id: string; SyncToken: string } & object,
    requestId: string,
  ): Promise<T> {
    return this.call<Record<string, T>>({
      method: 'POST',
      path: `/${entity.toLowerCase()}`,
      params: { requestid: requestId, operation: 'update' },
      data: { ...body, sparse: true },
    }).then((r) => r[entity] as T);
  }

  deleteTransaction(
    entity: 'Invoice' | 'Payment',
    ref: { Id: string; SyncToken: string },
    requestId: string,
  ): Promise<unknown> {
    return this.call({
      method: 'POST',
      path: `/${entity.toLowerCase()}`,
      params: { requestid: requestId, operation: 'delete' },
      data: ref,
    });
  }

  sendInvoice(id: string, requestId: string, sendTo?: string): Promise<unknown> {
    return this.call({
      method: 'POST',
      path: `/invoice/${encodeURIComponent(id)}/send`,
      params: { requestid: requestId, ...(sendTo ? { sendTo } : {}) },
      data: '',
      contentType: 'application/octet-stream',
    });
  }

  /** Change data capture since an instant (≤ 30 days back, ≤ 1000 objects per answer). */
  cdc(entities: QboEntityName[], changedSince: string): Promise<{ CDCResponse: unknown[]; time: string }> {
    return this.call({ method: 'GET', path: '/cdc', params: { entities: entities.join(','), changedSince } });
  }
}
