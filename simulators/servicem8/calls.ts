/**
 * The call log: one entry per request to the API surface (everything except `/__sim`), with counters that
 * make assertions such as "no staff endpoint was ever called" (STAFF-1) one line.
 */
import { type AuthKind } from './auth';

export type Operation =
  | 'list'
  | 'read'
  | 'create'
  | 'update'
  | 'delete'
  | 'oauth_authorize'
  | 'oauth_token'
  | 'webhook_subscriptions'
  | 'unknown';

export interface CallRecord {
  seq: number;
  /** Sim-clock ISO time the request arrived. */
  time: string;
  method: string;
  /** Path without the query string. */
  path: string;
  query: string;
  /** Lower-case object name for `/api_1.0` calls. */
  object?: string;
  operation: Operation;
  uuid?: string;
  /** HTTP status answered; 0 when the socket was dropped without an answer. */
  status: number;
  authKind: AuthKind;
  /** Fault applied, if any: 'status', 'timeout', 'commitThenDrop', 'latency'. */
  fault?: string;
  /** What happened to `$filter`: 'applied', or why it was ignored. */
  filter?: string;
  durationMs: number;
}

export interface CallStats {
  total: number;
  /** "METHOD /api_1.0/{object}.json" or "METHOD /api_1.0/{object}/{uuid}.json" style keys. */
  byEndpoint: Record<string, number>;
  byStatus: Record<string, number>;
  rateLimited: number;
  staffCalls: number;
  faults: number;
}

export function endpointKey(call: Pick<CallRecord, 'method' | 'path' | 'object' | 'uuid'>): string {
  if (call.object !== undefined) {
    return call.uuid !== undefined
      ? `${call.method} /api_1.0/${call.object}/{uuid}.json`
      : `${call.method} /api_1.0/${call.object}.json`;
  }
  return `${call.method} ${call.path}`;
}

/** Entries kept for `list()`; counters keep counting past it (benchmarks make many calls). */
export const CALL_LOG_LIMIT = 50_000;

function emptyStats(): CallStats {
  return { total: 0, byEndpoint: {}, byStatus: {}, rateLimited: 0, staffCalls: 0, faults: 0 };
}

export class CallLog {
  private calls: CallRecord[] = [];
  private seq = 0;
  private counters: CallStats = emptyStats();

  add(call: Omit<CallRecord, 'seq'>): void {
    this.calls.push({ ...call, seq: ++this.seq });
    if (this.calls.length > CALL_LOG_LIMIT) this.calls.splice(0, this.calls.length - CALL_LOG_LIMIT);
    const stats = this.counters;
    const key = endpointKey(call);
    stats.total += 1;
    stats.byEndpoint[key] = (stats.byEndpoint[key] ?? 0) + 1;
    stats.byStatus[String(call.status)] = (stats.byStatus[String(call.status)] ?? 0) + 1;
    if (call.status === 429) stats.rateLimited += 1;
    if (call.object === 'staff') stats.staffCalls += 1;
    if (call.fault !== undefined) stats.faults += 1;
  }

  /** The most recent calls (up to CALL_LOG_LIMIT), oldest first. */
  list(): CallRecord[] {
    return this.calls.map((c) => ({ ...c }));
  }

  clear(): void {
    this.calls = [];
    this.counters = emptyStats();
  }

  stats(): CallStats {
    return structuredClone(this.counters);
  }
}
