/**
 * Object webhooks: subscriptions (`/webhook_subscriptions`), the subscribe challenge, and asynchronous
 * deliveries with retries on the sim clock, deactivation after prolonged failure, and test switches
 * (pause, drop, duplicate, reorder, delay).
 *
 * Delivery model (ServiceM8 documents none of it beyond "deactivated after ~12 hours of failure"):
 * - one POST per changed record, JSON `{object, entry:[{uuid, changed_fields, time}], resource_url}`,
 *   `time` in UTC "YYYY-MM-DD HH:MM:SS";
 * - sent one at a time in queue order, never blocking the API write that caused it;
 * - a non-2xx answer, a network error or a timeout is retried after initial * 2^(attempt-1), capped;
 * - once a subscription has been failing for `webhookFailureDeactivateAfterMs` (measured on the sim clock
 *   from its first failure since its last success) it is set inactive with `last_failure_reason`
 *   "Webhook request failed for over 12 hours" and its pending deliveries are abandoned.
 */
import { randomBytes } from 'node:crypto';
import { postToCallback } from './callback';
import { type SimClock, formatUtcDateTime } from './clock';
import { validationError, notFoundError } from './errors';
import { type RecordChange } from './records';
import { type ObjectName, objectDef, resolveObjectName } from './schemas';

export interface WebhookSubscription {
  type: 'object';
  object: ObjectName;
  fields: string[];
  callback_url: string;
  unique_id: string;
  active: boolean;
  last_failure_reason?: string;
  last_failure_at?: string;
}

export interface WebhookPayload {
  object: string;
  entry: Array<{ uuid: string; changed_fields: string[]; time: string }>;
  resource_url: string;
}

export type DeliveryStatus = 'queued' | 'in_flight' | 'retry_wait' | 'delivered' | 'dropped' | 'abandoned';

export interface WebhookDelivery {
  id: number;
  object: ObjectName;
  callbackUrl: string;
  payload: WebhookPayload;
  status: DeliveryStatus;
  attempts: number;
  /** Sim-clock ISO time the delivery was queued. */
  createdAt: string;
  /** Sim-clock epoch ms of the next attempt while queued or waiting to retry. */
  nextAttemptAt: number;
  lastStatusCode?: number;
  lastError?: string;
  deliveredAt?: string;
  /** Set on the extra copy made by the duplicate switch. */
  duplicateOf?: number;
}

/** Test switches for deliveries. Probabilities are 0..1. */
export interface WebhookBehaviour {
  paused: boolean;
  dropRate: number;
  duplicateRate: number;
  /** Deliver each batch of ready deliveries newest first. */
  reorder: boolean;
  delayMs: number;
}

export interface WebhookSettings {
  webhookChallenge: boolean;
  webhookFailureDeactivateAfterMs: number;
  webhookRetryInitialMs: number;
  webhookRetryMaxMs: number;
  webhookTimeoutMs: number;
}

export const DEACTIVATION_REASON = 'Webhook request failed for over 12 hours';

/** Finished deliveries kept for inspection; older finished ones are forgotten first. */
const DELIVERY_HISTORY_LIMIT = 20_000;

const DEFAULT_BEHAVIOUR: WebhookBehaviour = {
  paused: false,
  dropRate: 0,
  duplicateRate: 0,
  reorder: false,
  delayMs: 0,
};

interface SubscriptionState extends WebhookSubscription {
  /** Sim epoch ms of the first failure since the last success. */
  failingSince?: number;
}

const subscriptionKey = (object: string, callbackUrl: string) => `${object}|${callbackUrl}`;

export class WebhookService {
  private subscriptions = new Map<string, SubscriptionState>();
  private deliveries: WebhookDelivery[] = [];
  private nextId = 1;
  private behaviour: WebhookBehaviour = { ...DEFAULT_BEHAVIOUR };
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly unsubscribeClock: () => void;

  constructor(
    private readonly clock: SimClock,
    private readonly settings: () => WebhookSettings,
    private readonly baseUrl: () => string,
    private readonly random: () => number,
  ) {
    // Moving the sim clock can make retries due: re-evaluate at once.
    this.unsubscribeClock = clock.onChange(() => this.kick());
  }

  // ---- subscriptions -------------------------------------------------------------------------------

  /** Add or modify (same object + callback_url) a subscription, after the challenge when enabled. */
  async subscribe(params: Record<string, unknown>): Promise<WebhookSubscription> {
    const objectText = typeof params.object === 'string' ? params.object : '';
    const object = resolveObjectName(objectText);
    if (!object) throw validationError(`webhook object '${objectText}' is not supported`);
    const fields = (typeof params.fields === 'string' ? params.fields : '')
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== '');
    if (fields.length === 0)
      throw validationError('fields is required: a comma-separated list of field names');
    const unknown = fields.filter((f) => !objectDef(object).fields.has(f));
    if (unknown.length > 0)
      throw validationError(`unknown ${object} field(s) in fields: ${unknown.join(', ')}`);
    const callbackUrl = typeof params.callback_url === 'string' ? params.callback_url : '';
    if (!/^https?:\/\/[^\s]+$/i.test(callbackUrl))
      throw validationError('callback_url must be an http(s) URL');
    const uniqueId = typeof params.unique_id === 'string' ? params.unique_id : '';
    if (this.settings().webhookChallenge) await this.challenge(callbackUrl);
    const key = subscriptionKey(object, callbackUrl);
    const subscription: SubscriptionState = {
      type: 'object',
      object,
      fields,
      callback_url: callbackUrl,
      unique_id: uniqueId,
      active: true,
    };
    this.subscriptions.set(key, subscription);
    return this.publicView(subscription);
  }

  private async challenge(callbackUrl: string): Promise<void> {
    const challenge = randomBytes(16).toString('hex');
    const form = new URLSearchParams({ mode: 'subscribe', challenge }).toString();
    let answer: { status: number; body: string };
    try {
      answer = await postToCallback(
        callbackUrl,
        form,
        'application/x-www-form-urlencoded',
        this.settings().webhookTimeoutMs,
        this.abort.signal,
      );
    } catch (error) {
      throw validationError(`Webhook challenge failed: could not reach ${callbackUrl} (${String(error)})`);
    }
    if (answer.status !== 200 || answer.body !== challenge) {
      throw validationError(
        `Webhook challenge failed: ${callbackUrl} answered HTTP ${answer.status} with a body that is not the ` +
          'challenge value; it must answer 200 with only the challenge',
      );
    }
  }

  list(status: 'active' | 'inactive' | 'all' = 'active'): WebhookSubscription[] {
    return [...this.subscriptions.values()]
      .filter((s) => status === 'all' || (status === 'active' ? s.active : !s.active))
      .map((s) => this.publicView(s));
  }

  /** Removes subscriptions matching every identifying parameter given (object, callback_url, unique_id). */
  unsubscribe(params: Record<string, unknown>): number {
    const object = typeof params.object === 'string' ? resolveObjectName(params.object) : undefined;
    const callbackUrl = typeof params.callback_url === 'string' ? params.callback_url : undefined;
    const uniqueId = typeof params.unique_id === 'string' ? params.unique_id : undefined;
    if (!object && !callbackUrl && !uniqueId) {
      throw validationError('give object, callback_url and/or unique_id to identify the subscription');
    }
    let removed = 0;
    for (const [key, s] of this.subscriptions) {
      if (object && s.object !== object) continue;
      if (callbackUrl && s.callback_url !== callbackUrl) continue;
      if (uniqueId && s.unique_id !== uniqueId) continue;
      this.subscriptions.delete(key);
      removed += 1;
    }
    if (removed === 0) throw notFoundError();
    return removed;
  }

  private publicView(s: SubscriptionState): WebhookSubscription {
    const view: WebhookSubscription = {
      type: s.type,
      object: s.object,
      fields: [...s.fields],
      callback_url: s.callback_url,
      unique_id: s.unique_id,
      active: s.active,
    };
    if (s.last_failure_reason !== undefined) view.last_failure_reason = s.last_failure_reason;
    if (s.last_failure_at !== undefined) view.last_failure_at = s.last_failure_at;
    return view;
  }

  // ---- deliveries ----------------------------------------------------------------------------------

  /**
   * Queues notifications for record changes. A create notifies every watched field; a change notifies the
   * watched fields that changed, plus `active` whenever a record is deleted or restored.
   */
  notify(changes: readonly RecordChange[]): void {
    for (const change of changes) {
      for (const s of this.subscriptions.values()) {
        if (!s.active || s.object !== change.object) continue;
        const changed = change.created
          ? s.fields
          : change.changedFields.filter((f) => s.fields.includes(f) || f === 'active');
        if (changed.length === 0) continue;
        this.enqueue(s, change, changed);
      }
    }
    this.kick();
  }

  private enqueue(s: SubscriptionState, change: RecordChange, changedFields: string[]): void {
    const payload: WebhookPayload = {
      object: change.object,
      entry: [{ uuid: change.uuid, changed_fields: [...changedFields], time: formatUtcDateTime(change.at) }],
      resource_url: `${this.baseUrl()}/api_1.0/${objectDef(change.object).resourceName}/${change.uuid}.json`,
    };
    const now = this.clock.nowMs();
    const make = (duplicateOf?: number): WebhookDelivery => {
      const delivery: WebhookDelivery = {
        id: this.nextId++,
        object: s.object,
        callbackUrl: s.callback_url,
        payload,
        status: 'queued',
        attempts: 0,
        createdAt: new Date(now).toISOString(),
        nextAttemptAt: now + this.behaviour.delayMs,
      };
      if (duplicateOf !== undefined) delivery.duplicateOf = duplicateOf;
      return delivery;
    };
    this.trimHistory();
    const delivery = make();
    if (this.behaviour.dropRate > 0 && this.random() < this.behaviour.dropRate) delivery.status = 'dropped';
    this.deliveries.push(delivery);
    if (
      delivery.status !== 'dropped' &&
      this.behaviour.duplicateRate > 0 &&
      this.random() < this.behaviour.duplicateRate
    ) {
      this.deliveries.push(make(delivery.id));
    }
  }

  private trimHistory(): void {
    if (this.deliveries.length < DELIVERY_HISTORY_LIMIT) return;
    const finished = new Set<DeliveryStatus>(['delivered', 'dropped', 'abandoned']);
    let excess = this.deliveries.length - DELIVERY_HISTORY_LIMIT + 1;
    this.deliveries = this.deliveries.filter((d) => {
      if (excess > 0 && finished.has(d.status)) {
        excess -= 1;
        return false;
      }
      return true;
    });
  }

  getDeliveries(): WebhookDelivery[] {
    return this.deliveries.map((d) => ({ ...d, payload: structuredClone(d.payload) }));
  }

  getBehaviour(): WebhookBehaviour {
    return { ...this.behaviour };
  }

  setBehaviour(patch: Partial<WebhookBehaviour>): WebhookBehaviour {
    this.behaviour = { ...this.behaviour, ...patch };
    this.kick();
    return this.getBehaviour();
  }

  pause(): void {
    this.behaviour.paused = true;
  }

  resume(): void {
    this.behaviour.paused = false;
    this.kick();
  }

  private pending(): WebhookDelivery[] {
    return this.deliveries.filter((d) => d.status === 'queued' || d.status === 'retry_wait');
  }

  private ordered(batch: WebhookDelivery[]): WebhookDelivery[] {
    const sorted = [...batch].sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id);
    return this.behaviour.reorder ? sorted.reverse() : sorted;
  }

  /** Attempts every pending delivery once now, ignoring pause and retry times, and waits for them. */
  async flush(): Promise<WebhookDelivery[]> {
    await this.idle();
    const batch = this.ordered(this.pending());
    for (const delivery of batch) {
      if (this.stopped) break;
      if (delivery.status === 'queued' || delivery.status === 'retry_wait') await this.attempt(delivery);
    }
    this.schedule();
    return batch.map((d) => ({ ...d }));
  }

  /** Resolves once no delivery pass is running. */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  private kick(): void {
    if (this.stopped || this.behaviour.paused) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.kick();
      } else {
        this.schedule();
      }
    });
  }

  private async pump(): Promise<void> {
    for (;;) {
      if (this.stopped || this.behaviour.paused) return;
      const now = this.clock.nowMs();
      const ready = this.ordered(this.pending().filter((d) => d.nextAttemptAt <= now));
      if (ready.length === 0) return;
      for (const delivery of ready) {
        if (this.stopped || this.behaviour.paused) return;
        if (delivery.status === 'queued' || delivery.status === 'retry_wait') await this.attempt(delivery);
      }
    }
  }

  /** Arms one timer for the earliest future attempt. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped || this.behaviour.paused) return;
    const pending = this.pending();
    if (pending.length === 0) return;
    const next = Math.min(...pending.map((d) => d.nextAttemptAt));
    const delay = Math.max(0, Math.min(next - this.clock.nowMs(), 2_147_483_647));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, delay);
  }

  private async attempt(delivery: WebhookDelivery): Promise<void> {
    const key = subscriptionKey(delivery.object, delivery.callbackUrl);
    const subscription = this.subscriptions.get(key);
    if (!subscription || !subscription.active) {
      delivery.status = 'abandoned';
      delivery.lastError = 'subscription removed or inactive';
      return;
    }
    delivery.status = 'in_flight';
    delivery.attempts += 1;
    const settings = this.settings();
    let failure: string | undefined;
    try {
      const answer = await postToCallback(
        delivery.callbackUrl,
        JSON.stringify(delivery.payload),
        'application/json',
        settings.webhookTimeoutMs,
        this.abort.signal,
      );
      delivery.lastStatusCode = answer.status;
      if (answer.status < 200 || answer.status > 299) failure = `HTTP ${answer.status}`;
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    const now = this.clock.nowMs();
    if (failure === undefined) {
      delivery.status = 'delivered';
      delivery.deliveredAt = new Date(now).toISOString();
      delete delivery.lastError;
      subscription.failingSince = undefined;
      return;
    }
    delivery.lastError = failure;
    if (this.stopped) {
      delivery.status = 'abandoned';
      return;
    }
    subscription.failingSince ??= now;
    if (now - subscription.failingSince >= settings.webhookFailureDeactivateAfterMs) {
      this.deactivate(subscription, now);
      return;
    }
    delivery.status = 'retry_wait';
    const backoff = settings.webhookRetryInitialMs * 2 ** Math.max(0, delivery.attempts - 1);
    delivery.nextAttemptAt = now + Math.min(backoff, settings.webhookRetryMaxMs);
  }

  private deactivate(subscription: SubscriptionState, now: number): void {
    subscription.active = false;
    subscription.last_failure_reason = DEACTIVATION_REASON;
    subscription.last_failure_at = formatUtcDateTime(new Date(now));
    for (const d of this.deliveries) {
      if (d.object !== subscription.object || d.callbackUrl !== subscription.callback_url) continue;
      if (d.status === 'queued' || d.status === 'retry_wait' || d.status === 'in_flight') {
        d.status = 'abandoned';
        d.lastError = DEACTIVATION_REASON;
      }
    }
  }

  /** Forgets subscriptions and deliveries and resets the switches. */
  reset(): void {
    this.subscriptions.clear();
    this.deliveries = [];
    this.behaviour = { ...DEFAULT_BEHAVIOUR };
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  exportSubscriptions(): WebhookSubscription[] {
    return this.list('all');
  }

  importSubscriptions(subscriptions: readonly WebhookSubscription[]): void {
    this.subscriptions.clear();
    for (const s of subscriptions)
      this.subscriptions.set(subscriptionKey(s.object, s.callback_url), { ...s });
  }

  /** Stops all timers and aborts in-flight requests; resolves when nothing is left running. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeClock();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.idle();
  }
}
