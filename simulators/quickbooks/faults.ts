import { randomUUID } from 'node:crypto';

/**
 * Fault injection rules (control API `POST /__sim/faults`). A rule matches by method and a regular expression
 * over the request path + query string; `rate` is the chance it fires, `count` how many times before it retires.
 */
export interface FaultRule {
  method?: string;
  /** Regular expression tested against e.g. "/v3/company/123/invoice?operation=delete&minorversion=75". */
  path: string;
  /** Answer with this status (and `body`, or a SystemFault body) instead of running the request. */
  status?: number;
  body?: unknown;
  /** 0..1, default 1. */
  rate?: number;
  /** Fire at most this many times (default: unlimited). */
  count?: number;
  /** Wait this long before handling (or before failing). */
  latencyMs?: number;
  /** Never answer; the connection stays open until the client gives up. */
  timeout?: boolean;
  /** With `timeout`: destroy the socket after this long instead of holding it until the client gives up. */
  hangMs?: number;
  /** Run the request (the write is committed) and then drop the connection without a response. */
  commitThenDrop?: boolean;
}

export interface ActiveFaultRule extends FaultRule {
  id: string;
  fired: number;
}

export class FaultInjector {
  private rules: Array<ActiveFaultRule & { regex: RegExp }> = [];

  add(rule: FaultRule): ActiveFaultRule {
    if (typeof rule.path !== 'string') throw new Error('fault rule needs a "path" regular expression');
    const active = { ...rule, id: randomUUID(), fired: 0, regex: new RegExp(rule.path) };
    this.rules.push(active);
    return this.describe(active);
  }

  list(): ActiveFaultRule[] {
    return this.rules.map((rule) => this.describe(rule));
  }

  clear(): void {
    this.rules = [];
  }

  /** The rule that fires for this request, if any (consumes one `count`). */
  match(method: string, url: string): ActiveFaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.method !== undefined && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (!rule.regex.test(url)) continue;
      if (Math.random() >= (rule.rate ?? 1)) continue;
      rule.fired++;
      if (rule.count !== undefined && rule.fired >= rule.count)
        this.rules = this.rules.filter((other) => other !== rule);
      return this.describe(rule);
    }
    return undefined;
  }

  private describe(rule: ActiveFaultRule & { regex?: RegExp }): ActiveFaultRule {
    const { regex: _regex, ...rest } = rule;
    return rest;
  }
}
