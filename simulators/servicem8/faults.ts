/**
 * Fault injection for API requests (never for `/__sim`). A rule matches on method and path and then, with
 * probability `rate`, for at most `count` requests, does one of:
 * - answer `status` with `body` at once (nothing is performed; a 429 burst is `status: 429, count: n`);
 * - `timeout`: hang, then destroy the socket after `hangMs` without answering (nothing is performed);
 * - `commitThenDrop`: perform the request, then destroy the socket instead of answering;
 * and/or add `latencyMs` before handling, and/or `answerLatencyMs` after it (the request is performed and
 * its webhooks sent, the answer comes late: a slow return path).
 */
import { PER_MINUTE_MESSAGE } from './ratelimit';

export interface FaultRule {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Path prefix, or a regular expression when it starts with '^'. Matched against the path without query. */
  path: string;
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Probability 0..1 that a matching request is affected. Default 1. */
  rate?: number;
  /** How many requests the rule affects before it retires. Default unlimited. */
  count?: number;
  latencyMs?: number;
  /** Delay between performing the request and answering it. */
  answerLatencyMs?: number;
  timeout?: boolean;
  /** How long a `timeout` fault hangs before destroying the socket. Default 30000. */
  hangMs?: number;
  commitThenDrop?: boolean;
}

export interface ActiveFaultRule extends FaultRule {
  id: number;
  /** Requests affected so far. */
  hits: number;
}

export interface FaultAction {
  ruleId: number;
  latencyMs: number;
  answerLatencyMs: number;
  respond?: { status: number; body: unknown; headers: Record<string, string> };
  hangMs?: number;
  commitThenDrop: boolean;
}

function defaultBody(status: number): unknown {
  if (status === 429) return { errorCode: 429, message: PER_MINUTE_MESSAGE };
  if (status === 500)
    return { errorCode: 500, message: 'An unexpected error occurred. Please try again later.' };
  return { errorCode: status, message: `Simulated fault: HTTP ${status}` };
}

export function validateFaultRule(rule: unknown): FaultRule {
  if (typeof rule !== 'object' || rule === null) throw new Error('a fault rule must be an object');
  const r = rule as Record<string, unknown>;
  if (typeof r.path !== 'string' || r.path === '')
    throw new Error('fault rule needs a path (prefix or ^regex)');
  if (r.path.startsWith('^')) new RegExp(r.path);
  if (r.rate !== undefined && (typeof r.rate !== 'number' || r.rate < 0 || r.rate > 1)) {
    throw new Error('fault rule rate must be a number in 0..1');
  }
  if (r.count !== undefined && (typeof r.count !== 'number' || r.count < 0)) {
    throw new Error('fault rule count must be a non-negative number');
  }
  if (r.status !== undefined && (typeof r.status !== 'number' || r.status < 100 || r.status > 599)) {
    throw new Error('fault rule status must be an HTTP status code');
  }
  const outcomes = [r.status !== undefined, r.timeout === true, r.commitThenDrop === true].filter(
    Boolean,
  ).length;
  if (outcomes > 1) throw new Error('a fault rule can have only one of status, timeout, commitThenDrop');
  if (outcomes === 0 && r.latencyMs === undefined && r.answerLatencyMs === undefined) {
    throw new Error('a fault rule needs status, timeout, commitThenDrop, latencyMs or answerLatencyMs');
  }
  return r as unknown as FaultRule;
}

export class FaultInjector {
  private rules: ActiveFaultRule[] = [];
  private nextId = 1;

  constructor(private readonly random: () => number) {}

  add(rules: readonly FaultRule[]): ActiveFaultRule[] {
    const added = rules.map((rule) => ({ ...validateFaultRule(rule), id: this.nextId++, hits: 0 }));
    this.rules.push(...added);
    return added.map((r) => ({ ...r }));
  }

  clear(): void {
    this.rules = [];
  }

  list(): ActiveFaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /** The fault to apply to a request, if any rule fires. */
  match(method: string, path: string): FaultAction | undefined {
    for (const rule of this.rules) {
      if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      const pathMatches = rule.path.startsWith('^')
        ? new RegExp(rule.path, 'i').test(path)
        : path.toLowerCase().startsWith(rule.path.toLowerCase());
      if (!pathMatches) continue;
      if (rule.count !== undefined && rule.hits >= rule.count) continue;
      if (this.random() >= (rule.rate ?? 1)) continue;
      rule.hits += 1;
      const action: FaultAction = {
        ruleId: rule.id,
        latencyMs: rule.latencyMs ?? 0,
        answerLatencyMs: rule.answerLatencyMs ?? 0,
        commitThenDrop: rule.commitThenDrop === true,
      };
      if (rule.status !== undefined) {
        action.respond = {
          status: rule.status,
          body: rule.body ?? defaultBody(rule.status),
          headers: rule.headers ?? {},
        };
      }
      if (rule.timeout === true) action.hangMs = rule.hangMs ?? 30_000;
      return action;
    }
    return undefined;
  }
}
