import { formatEnvelopeTime } from './clock';

export interface CallRecord {
  at: string;
  method: string;
  url: string;
  /** e.g. "POST /v3/company/:realmId/invoice?operation=void" */
  endpoint: string;
  status: number;
  realmId?: string;
  durationMs: number;
}

const MAX_CALLS = 10_000;

/** Call log and counters behind `GET /__sim/calls` and `GET /__sim/stats`. */
export class CallLog {
  calls: CallRecord[] = [];
  readonly perEndpoint = new Map<string, number>();
  throttled = 0;
  /**
   * CorePlus (data-out) calls per realm: reads, queries, CDC (docs/quickbooks-api.md §3; CDC metered is
   * UNCONFIRMED).
   */
  readonly meteredReads = new Map<string, number>();

  record(call: Omit<CallRecord, 'at'>, nowMs: number): void {
    this.calls.push({ ...call, at: formatEnvelopeTime(nowMs) });
    if (this.calls.length > MAX_CALLS) this.calls.splice(0, this.calls.length - MAX_CALLS);
    this.perEndpoint.set(call.endpoint, (this.perEndpoint.get(call.endpoint) ?? 0) + 1);
    if (call.status === 429) this.throttled++;
  }

  meter(realmId: string): void {
    this.meteredReads.set(realmId, (this.meteredReads.get(realmId) ?? 0) + 1);
  }

  reset(): void {
    this.calls = [];
    this.perEndpoint.clear();
    this.throttled = 0;
    this.meteredReads.clear();
  }
}

/** Groups a URL into an endpoint key: realm and ids replaced, the `operation`/`include` query kept. */
export function endpointKey(method: string, url: string): string {
  const [path = '', query = ''] = url.split('?');
  const normalised = path
    .replace(/^\/v3\/company\/[^/]+/, '/v3/company/:realmId')
    .replace(/\/companyinfo\/[^/]+$/, '/companyinfo/:id')
    .replace(/\/(\d+)(?=\/|$)/g, '/:id');
  const params = new URLSearchParams(query);
  const extras = ['operation', 'include']
    .filter((key) => params.has(key))
    .map((key) => `${key}=${params.get(key) ?? ''}`)
    .join('&');
  return `${method} ${normalised}${extras ? `?${extras}` : ''}`;
}
