/**
 * The control surface for tests, the demo and benchmarks: typed methods on the running handle, mirrored
 * one to one by unauthenticated HTTP routes under `/__sim`. Control calls bypass auth, rate limits,
 * faults and the call log.
 */
import { type FastifyInstance } from 'fastify';
import { type TokenResponse } from './auth';
import { type CallRecord, type CallStats } from './calls';
import { type SimContext } from './context';
import { type ActiveFaultRule, type FaultRule } from './faults';
import { type SimSettings, validateSettings } from './options';
import { OBJECT_NAMES, type ObjectName, resolveObjectName } from './schemas';
import { type SeedSummary, createVendor, seedDemoWorld } from './seed';
import { type Sm8Record, type StoreSnapshot } from './store';
import { type WebhookBehaviour, type WebhookDelivery, type WebhookSubscription } from './webhooks';

export type World = 'empty' | 'demo';

export interface SimulatorSnapshot {
  store: StoreSnapshot;
  webhookSubscriptions: WebhookSubscription[];
}

/** Settings that may be changed at run time (everything except the account time zone). */
export type SettingsPatch = Partial<Omit<SimSettings, 'timeZone'>>;

function requireObject(name: string): ObjectName {
  const object = resolveObjectName(name);
  if (!object) throw new Error(`unknown object '${name}'; known: ${OBJECT_NAMES.join(', ')}`);
  return object;
}

export class SimulatorControl {
  constructor(private readonly ctx: SimContext) {}

  /**
   * Back to a fresh world: records, webhook subscriptions and deliveries, the call log, faults and rate
   * counters are cleared; OAuth clients/tokens and the clock are kept. `world` defaults to the start-up
   * world ('demo' when the simulator was started with seedDemo).
   */
  reset(world: World = this.ctx.seedDemo ? 'demo' : 'empty'): SeedSummary {
    this.ctx.store.clear();
    this.ctx.webhooks.reset();
    this.ctx.calls.clear();
    this.ctx.faults.clear();
    this.ctx.limiter.reset();
    createVendor(this.ctx.records, this.ctx.settings.timeZone);
    if (world === 'demo') seedDemoWorld(this.ctx.records);
    return this.summary();
  }

  /** Adds the demo world to the current records (normally after a reset). */
  seed(world: 'demo' = 'demo'): SeedSummary {
    if (world !== 'demo') throw new Error(`unknown world '${String(world)}'`);
    seedDemoWorld(this.ctx.records);
    return this.summary();
  }

  private summary(): SeedSummary {
    const counts = {} as Record<ObjectName, number>;
    for (const name of OBJECT_NAMES) counts[name] = this.ctx.store.count(name);
    return { counts };
  }

  /**
   * Inserts a record as if made in the ServiceM8 UI: read-only fields may be set, required fields are not
   * enforced, webhooks fire. Returns the stored record.
   */
  insert(object: ObjectName | string, record: Record<string, unknown>): Sm8Record {
    const result = this.ctx.records.create(requireObject(object), record, { trusted: true });
    this.ctx.webhooks.notify(result.changes);
    return result.record;
  }

  /** Updates a record as if edited in the ServiceM8 UI (e.g. a user approving an invoice). */
  update(object: ObjectName | string, uuid: string, patch: Record<string, unknown>): Sm8Record {
    const result = this.ctx.records.update(requireObject(object), uuid, patch, { trusted: true });
    this.ctx.webhooks.notify(result.changes);
    return result.record;
  }

  records(object: ObjectName | string): Sm8Record[] {
    return this.ctx.store.list(requireObject(object));
  }

  readonly clock = {
    now: (): string => this.ctx.clock.now().toISOString(),
    advance: (ms: number): string => {
      if (!Number.isFinite(ms)) throw new Error('advanceMs must be a number');
      return this.ctx.clock.advance(ms).toISOString();
    },
    set: (iso: string): string => {
      const at = new Date(iso);
      if (Number.isNaN(at.getTime())) throw new Error(`'${iso}' is not an ISO date-time`);
      return this.ctx.clock.set(at).toISOString();
    },
  };

  readonly faults = {
    add: (...rules: FaultRule[]): ActiveFaultRule[] => this.ctx.faults.add(rules),
    clear: (): void => this.ctx.faults.clear(),
    list: (): ActiveFaultRule[] => this.ctx.faults.list(),
  };

  readonly webhooks = {
    pause: (): void => this.ctx.webhooks.pause(),
    resume: (): void => this.ctx.webhooks.resume(),
    /** Sets drop/duplicate probabilities, reorder and delay. */
    configure: (patch: Partial<Omit<WebhookBehaviour, 'paused'>>): WebhookBehaviour =>
      this.ctx.webhooks.setBehaviour(patch),
    behaviour: (): WebhookBehaviour => this.ctx.webhooks.getBehaviour(),
    deliveries: (): WebhookDelivery[] => this.ctx.webhooks.getDeliveries(),
    /** Attempts every queued delivery now (even when paused) and resolves when they are done. */
    flush: (): Promise<WebhookDelivery[]> => this.ctx.webhooks.flush(),
    /** Resolves when no delivery pass is running. */
    idle: (): Promise<void> => this.ctx.webhooks.idle(),
    subscriptions: (): WebhookSubscription[] => this.ctx.webhooks.list('all'),
  };

  readonly calls = {
    list: (): CallRecord[] => this.ctx.calls.list(),
    stats: (): CallStats => this.ctx.calls.stats(),
    clear: (): void => this.ctx.calls.clear(),
  };

  readonly oauth = {
    /** Issues a token pair for the configured client without the browser step. */
    issueToken: (scopes: readonly string[]): TokenResponse =>
      this.ctx.auth.issue(this.ctx.settings.oauthClientId, scopes),
    revokeRefreshToken: (refreshToken: string): boolean => this.ctx.auth.revokeRefreshToken(refreshToken),
    expireAccessTokens: (): number => this.ctx.auth.expireAccessTokens(),
  };

  settings(): SimSettings {
    return { ...this.ctx.settings };
  }

  updateSettings(patch: SettingsPatch): SimSettings {
    const next: SimSettings = { ...this.ctx.settings, ...patch, timeZone: this.ctx.settings.timeZone };
    validateSettings(next);
    this.ctx.settings = next;
    return this.settings();
  }

  snapshot(): SimulatorSnapshot {
    return {
      store: this.ctx.store.snapshot(),
      webhookSubscriptions: this.ctx.webhooks.exportSubscriptions(),
    };
  }

  loadSnapshot(snapshot: SimulatorSnapshot): void {
    this.ctx.store.load(snapshot.store);
    this.ctx.webhooks.reset();
    this.ctx.webhooks.importSubscriptions(snapshot.webhookSubscriptions);
  }
}

type Body = Record<string, unknown>;

function asBody(body: unknown): Body {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Body) : {};
}

export function registerControlRoutes(app: FastifyInstance, control: SimulatorControl): void {
  app.post('/__sim/reset', async (request) => {
    const world = asBody(request.body).world;
    return control.reset(world === 'demo' || world === 'empty' ? world : undefined);
  });
  app.post('/__sim/seed', async (request) => {
    const world = asBody(request.body).world ?? 'demo';
    if (world !== 'demo') throw new Error(`unknown world '${String(world)}'`);
    return control.seed(world);
  });
  app.get<{ Params: { object: string } }>('/__sim/records/:object', async (request) =>
    control.records(request.params.object),
  );
  app.post<{ Params: { object: string } }>('/__sim/records/:object', async (request) =>
    control.insert(request.params.object, asBody(request.body)),
  );
  app.post<{ Params: { object: string; uuid: string } }>('/__sim/records/:object/:uuid', async (request) =>
    control.update(request.params.object, request.params.uuid, asBody(request.body)),
  );

  app.get('/__sim/clock', async () => ({ now: control.clock.now() }));
  app.post('/__sim/clock', async (request) => {
    const body = asBody(request.body);
    if (typeof body.advanceMs === 'number') return { now: control.clock.advance(body.advanceMs) };
    if (typeof body.set === 'string') return { now: control.clock.set(body.set) };
    throw new Error('send {"advanceMs": n} or {"set": "ISO date-time"}');
  });

  app.get('/__sim/faults', async () => control.faults.list());
  app.post('/__sim/faults', async (request) => {
    const body: unknown = request.body;
    const rules = Array.isArray(body)
      ? body
      : Array.isArray(asBody(body).rules)
        ? asBody(body).rules
        : [body];
    return control.faults.add(...(rules as FaultRule[]));
  });
  app.delete('/__sim/faults', async () => {
    control.faults.clear();
    return { ok: true };
  });

  app.post('/__sim/webhooks/pause', async () => {
    control.webhooks.pause();
    return control.webhooks.behaviour();
  });
  app.post('/__sim/webhooks/resume', async () => {
    control.webhooks.resume();
    return control.webhooks.behaviour();
  });
  app.get('/__sim/webhooks/behaviour', async () => control.webhooks.behaviour());
  app.post('/__sim/webhooks/behaviour', async (request) => {
    const body = asBody(request.body);
    const patch: Partial<Omit<WebhookBehaviour, 'paused'>> = {};
    if (typeof body.dropRate === 'number') patch.dropRate = body.dropRate;
    if (typeof body.duplicateRate === 'number') patch.duplicateRate = body.duplicateRate;
    if (typeof body.reorder === 'boolean') patch.reorder = body.reorder;
    if (typeof body.delayMs === 'number') patch.delayMs = body.delayMs;
    return control.webhooks.configure(patch);
  });
  app.get('/__sim/webhooks/deliveries', async () => control.webhooks.deliveries());
  app.post('/__sim/webhooks/flush', async () => control.webhooks.flush());
  app.get('/__sim/webhooks/subscriptions', async () => control.webhooks.subscriptions());

  app.get('/__sim/calls', async () => control.calls.list());
  app.delete('/__sim/calls', async () => {
    control.calls.clear();
    return { ok: true };
  });
  app.get('/__sim/stats', async () => control.calls.stats());

  app.get('/__sim/settings', async () => control.settings());
  app.post('/__sim/settings', async (request) =>
    control.updateSettings(asBody(request.body) as SettingsPatch),
  );

  app.post('/__sim/oauth/token', async (request) => {
    const scopes = asBody(request.body).scopes;
    const list = Array.isArray(scopes)
      ? scopes.map(String)
      : typeof scopes === 'string'
        ? scopes.split(/\s+/)
        : [];
    return control.oauth.issueToken(list.filter((s) => s !== ''));
  });
  app.post('/__sim/oauth/revoke', async (request) => {
    const token = asBody(request.body).refresh_token;
    return { revoked: typeof token === 'string' && control.oauth.revokeRefreshToken(token) };
  });
  app.post('/__sim/oauth/expire', async () => ({ expired: control.oauth.expireAccessTokens() }));

  app.get('/__sim/snapshot', async () => control.snapshot());
  app.post('/__sim/snapshot', async (request) => {
    const body = asBody(request.body);
    if (typeof body.store !== 'object' || body.store === null) throw new Error('snapshot needs a store');
    control.loadSnapshot({
      store: body.store as StoreSnapshot,
      webhookSubscriptions: Array.isArray(body.webhookSubscriptions)
        ? (body.webhookSubscriptions as WebhookSubscription[])
        : [],
    });
    return { ok: true };
  });
}
