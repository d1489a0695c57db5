import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { type SimClock } from './clock';
import { type WebhookFormat } from './config';
import { type ChangeEvent, type EntityName, type Operation } from './types';

/** Which operations each entity reports (docs/quickbooks-api.md §5.5). TaxCode/TaxRate report nothing. */
export const WEBHOOK_MATRIX: Partial<Record<EntityName, readonly Operation[]>> = {
  Invoice: ['Create', 'Update', 'Delete', 'Void', 'Emailed'],
  Payment: ['Create', 'Update', 'Delete', 'Void', 'Emailed'],
  CreditMemo: ['Create', 'Update', 'Delete', 'Void', 'Emailed'],
  RefundReceipt: ['Create', 'Update', 'Delete', 'Void', 'Emailed'],
  Customer: ['Create', 'Update', 'Delete', 'Merge'],
  Item: ['Create', 'Update', 'Delete', 'Merge'],
  Account: ['Create', 'Update', 'Delete', 'Merge'],
  Vendor: ['Create', 'Update', 'Delete', 'Merge'],
  Employee: ['Create', 'Update', 'Delete', 'Merge'],
  PaymentMethod: ['Create', 'Update', 'Merge'],
};

const VERBS: Record<Operation, string> = {
  Create: 'created',
  Update: 'updated',
  Delete: 'deleted',
  Merge: 'merged',
  // UNCONFIRMED: "void" and "voided" are both seen in the wild (docs/quickbooks-api.md §5.4).
  Void: 'voided',
  Emailed: 'emailed',
};

/** Delay before retry n (1-based) after a failed delivery (docs/quickbooks-api.md §5.1); then every 6 h. */
export const RETRY_SCHEDULE_MS = [
  0, 10_000, 20_000, 30_000, 300_000, 1_200_000, 7_200_000, 14_400_000, 21_600_000,
];
const EVERY_SIX_HOURS = 21_600_000;

export interface WebhookEvent extends ChangeEvent {
  /** CloudEvents `id`: stable across retries and duplicates, so receivers can dedupe. */
  eventId: string;
}

export interface WebhookDelivery {
  id: number;
  attempt: number;
  at: string;
  eventIds: string[];
  events: WebhookEvent[];
  status?: number;
  error?: string;
  ok: boolean;
  dropped?: boolean;
  duplicate?: boolean;
  body: string;
  signature: string;
}

export interface WebhookChaos {
  /** The next N batches are lost (reported delivered, never sent). */
  dropNext: number;
  /** The next N batches are sent twice. */
  duplicateNext: number;
  /** The next N batches go out in reverse order. */
  reorderNext: number;
  /** Real-time pause before each send. */
  delayMs: number;
}

export interface WebhookConfig {
  url: string | undefined;
  format: WebhookFormat;
  verifier: string;
  clientId: string;
  batchWindowMs: number;
  retryScale: number;
  timeoutMs: number;
  maxBatch: number;
}

export function signWebhookBody(verifier: string, body: string): string {
  return createHmac('sha256', verifier).update(body, 'utf8').digest('base64');
}

interface PostResult {
  status?: number;
  error?: string;
}

/** One POST without connection pooling, so stop() leaves no sockets behind. */
function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<PostResult> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const transport = target.protocol === 'https:' ? https : http;
    const request = transport.request(
      target,
      {
        method: 'POST',
        agent: false,
        signal,
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode }));
        response.on('error', (error) => resolve({ status: response.statusCode, error: error.message }));
      },
    );
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ error: error.message }));
    request.end(body);
  });
}

/**
 * At-least-once delivery with head-of-line blocking (docs/quickbooks-api.md §5.1): one batch in flight; while
 * it fails, later events wait behind it. Retry times run on the simulated clock, scaled by `retryScale`.
 */
export class WebhookDispatcher {
  readonly events: WebhookEvent[] = [];
  readonly deliveries: WebhookDelivery[] = [];
  private queue: WebhookEvent[] = [];
  private current: WebhookEvent[] | undefined;
  private failures = 0;
  private retryAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private paused = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private deliveryCount = 0;
  chaos: WebhookChaos = { dropNext: 0, duplicateNext: 0, reorderNext: 0, delayMs: 0 };
  private readonly unsubscribe: () => void;

  constructor(
    private readonly clock: SimClock,
    readonly config: WebhookConfig,
  ) {
    this.unsubscribe = clock.onChange(() => this.schedule(0));
  }

  private muted = 0;

  /** Runs `action` without raising webhooks (seeding a world is not a change anyone subscribed to). */
  muteWhile<T>(action: () => T): T {
    this.muted++;
    try {
      return action();
    } finally {
      this.muted--;
    }
  }

  enqueue(change: ChangeEvent): void {
    if (this.muted > 0) return;
    const allowed = WEBHOOK_MATRIX[change.entity];
    if (!allowed) return;
    let operation = change.operation;
    // A deactivation reported as Delete falls back to Update where the entity has no Delete event.
    if (!allowed.includes(operation) && operation === 'Delete') operation = 'Update';
    if (!allowed.includes(operation)) return;
    const event: WebhookEvent = { ...change, operation, eventId: randomUUID() };
    this.events.push(event);
    if (this.config.url === undefined) return;
    this.queue.push(event);
    this.schedule(this.config.batchWindowMs);
  }

  get pending(): number {
    return this.queue.length + (this.current?.length ?? 0);
  }

  pause(): void {
    this.paused = true;
    this.clearTimer();
  }

  resume(): void {
    this.paused = false;
    this.schedule(0);
  }

  setChaos(chaos: Partial<WebhookChaos>): WebhookChaos {
    this.chaos = { ...this.chaos, ...chaos };
    return this.chaos;
  }

  reset(): void {
    this.queue = [];
    this.current = undefined;
    this.failures = 0;
    this.events.length = 0;
    this.deliveries.length = 0;
    this.chaos = { dropNext: 0, duplicateNext: 0, reorderNext: 0, delayMs: 0 };
    this.clearTimer();
  }

  /** Sends everything pending now, ignoring the batch window and any retry wait; stops at the first failure. */
  async flush(): Promise<WebhookDelivery[]> {
    const first = this.deliveries.length;
    this.clearTimer();
    for (;;) {
      if (this.sending) {
        await this.sending;
        continue;
      }
      if (this.stopped || this.config.url === undefined || (!this.current && this.queue.length === 0)) break;
      const ok = await this.attempt(true);
      if (!ok) break;
    }
    this.schedule(0);
    return this.deliveries.slice(first);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    this.unsubscribe();
    this.abort.abort();
    if (this.sending) await this.sending;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.paused || this.sending || this.config.url === undefined) return;
    if (!this.current && this.queue.length === 0) return;
    this.clearTimer();
    let wait = delayMs;
    if (this.current) wait = Math.max(0, this.retryAtMs - this.clock.nowMs());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.attempt(false);
    }, wait);
  }

  private async attempt(force: boolean): Promise<boolean> {
    if (this.sending || this.stopped || (this.paused && !force) || this.config.url === undefined)
      return false;
    if (!this.current) {
      const batch = this.queue.splice(0, this.config.maxBatch);
      if (batch.length === 0) return true;
      if (this.chaos.reorderNext > 0) {
        this.chaos.reorderNext--;
        batch.reverse();
      }
      this.current = batch;
      this.failures = 0;
    } else if (!force && this.retryAtMs > this.clock.nowMs()) {
      this.schedule(0);
      return false;
    }
    let ok = false;
    const run = this.send(this.current).then((result) => {
      ok = result;
    });
    this.sending = run;
    await run;
    this.sending = undefined;
    if (ok) {
      this.current = undefined;
      this.failures = 0;
    } else {
      this.failures++;
      const delay = RETRY_SCHEDULE_MS[this.failures - 1] ?? EVERY_SIX_HOURS;
      this.retryAtMs = this.clock.nowMs() + delay * this.config.retryScale;
    }
    if (!force) this.schedule(ok ? 0 : this.retryAtMs - this.clock.nowMs());
    return ok;
  }

  private async send(batch: WebhookEvent[]): Promise<boolean> {
    const body = this.body(batch);
    const signature = signWebhookBody(this.config.verifier, body);
    const base = {
      attempt: this.failures + 1,
      eventIds: batch.map((event) => event.eventId),
      events: batch,
      body,
      signature,
    };
    if (this.chaos.dropNext > 0) {
      this.chaos.dropNext--;
      this.deliveries.push({
        ...base,
        id: ++this.deliveryCount,
        at: this.clock.now().toISOString(),
        ok: true,
        dropped: true,
      });
      return true;
    }
    if (this.chaos.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.chaos.delayMs));
    const copies = this.chaos.duplicateNext > 0 ? 2 : 1;
    if (copies === 2) this.chaos.duplicateNext--;
    let ok = false;
    for (let copy = 0; copy < copies && !this.stopped; copy++) {
      const headers = {
        'Content-Type':
          this.config.format === 'cloudevents' ? 'application/cloudevents+json' : 'application/json',
        'intuit-signature': signature,
        'User-Agent': 'qbo-simulator-webhooks',
      };
      const result = await post(
        this.config.url ?? '',
        body,
        headers,
        this.config.timeoutMs,
        this.abort.signal,
      );
      const delivered =
        result.status !== undefined &&
        result.status >= 200 &&
        result.status < 300 &&
        result.error === undefined;
      const delivery: WebhookDelivery = {
        ...base,
        id: ++this.deliveryCount,
        at: this.clock.now().toISOString(),
        ok: delivered,
      };
      if (result.status !== undefined) delivery.status = result.status;
      if (result.error !== undefined) delivery.error = result.error;
      if (copy === 1) delivery.duplicate = true;
      this.deliveries.push(delivery);
      if (copy === 0) ok = delivered;
    }
    return ok;
  }

  private body(batch: WebhookEvent[]): string {
    if (this.config.format === 'legacy') {
      const byRealm = new Map<string, WebhookEvent[]>();
      for (const event of batch) byRealm.set(event.realmId, [...(byRealm.get(event.realmId) ?? []), event]);
      return JSON.stringify({
        eventNotifications: [...byRealm].map(([realmId, events]) => ({
          realmId,
          dataChangeEvent: {
            entities: events.map((event) => ({
              name: event.entity,
              id: event.id,
              operation: event.operation,
              lastUpdated: new Date(event.atMs).toISOString(),
              ...(event.deletedId !== undefined ? { deletedId: event.deletedId } : {}),
            })),
          },
        })),
      });
    }
    const source = `intuit.${createHmac('sha256', 'qbo-sim').update(this.config.clientId).digest('base64')}`;
    return JSON.stringify(
      batch.map((event) => ({
        specversion: '1.0',
        id: event.eventId,
        source,
        type: `qbo.${event.entity.toLowerCase()}.${VERBS[event.operation]}.v1`,
        datacontenttype: 'application/json',
        time: new Date(event.atMs).toISOString(),
        intuitentityid: event.id,
        intuitaccountid: event.realmId,
        // UNCONFIRMED where CloudEvents carry a merge's deletedId; we put it in data.
        data: event.deletedId !== undefined ? { deletedId: event.deletedId } : {},
      })),
    );
  }
}
