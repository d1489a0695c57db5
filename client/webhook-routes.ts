/**
 * Webhook receivers (TRG-1):
 *  - POST /webhooks/quickbooks: `intuit-signature` (base64 HMAC-SHA256 of the RAW body with the verifier
 *    token) is checked before anything is parsed; CloudEvents batches and the legacy format are accepted.
 *  - POST /webhooks/servicem8/:secret: the connection is found by sha256(secret) (TRG-3 registers that URL);
 *    the subscription challenge is answered with the challenge value only.
 * Every accepted event is stored in the PostgreSQL inbox before we answer (client/webhook-inbox.ts), then
 * routed to its owner workflow. Routing gets a time budget well inside Intuit's 3 s; what is not routed by
 * then (or cannot be, Temporal being down) stays pending for the inbox relay, and the sender still gets 200.
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { ConnectionStore } from '../activities/connection-store';
import type { LinkStore } from '../activities/link-store';
import type { Logger } from '../infra/log';
import { recordEvents, routeRows, type InboxEventInput } from './webhook-inbox';

export interface WebhookDeps {
  pool: Pool;
  temporal: Client;
  links: LinkStore;
  store: ConnectionStore;
  taskQueue: string;
  /** Intuit's verifier token (QBO_WEBHOOK_VERIFIER); unset: QuickBooks webhooks are refused with 503. */
  qboVerifier: string | undefined;
  log: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** How long a request waits for routing before answering (default 1.5 s; Intuit allows 3 s in all). */
  routingBudgetMs?: number;
}

/** Intuit batches up to ~100 events / ~1 MB per POST (docs §5.1): leave headroom. */
const BODY_LIMIT = 5 * 1024 * 1024;
const DEFAULT_ROUTING_BUDGET_MS = 1500;

export class WebhookBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookBodyError';
  }
}

// ---- QuickBooks ---------------------------------------------------------------------------------------

/** Constant-time check of `intuit-signature` against the raw body. */
export function verifyIntuitSignature(
  verifier: string,
  rawBody: Buffer,
  header: string | undefined,
): boolean {
  if (!header) return false;
  const expected = crypto.createHmac('sha256', verifier).update(rawBody).digest();
  const given = Buffer.from(header.trim(), 'base64');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

/** A QuickBooks event as both formats describe it. */
export interface QboEvent {
  eventId: string;
  realmId: string;
  entity: string;
  entityId: string;
  operation: string;
  time: string | null;
  payload: unknown;
}

const LEGACY_OPERATIONS: Record<string, string> = {
  create: 'created',
  update: 'updated',
  delete: 'deleted',
  merge: 'merged',
  void: 'voided',
  emailed: 'emailed',
};
// CloudEvents verbs; `void` and `voided` are both seen in the wild (docs §5.4): one name for both.
const CLOUDEVENT_VERBS: Record<string, string> = { void: 'voided' };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A non-empty string, or a number (ids are strings in the docs; tolerate numbers). */
function idField(v: unknown): string | null {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

const TYPE_PATTERN = /^qbo\.([a-z][a-z0-9_]*)\.([a-z][a-z_]*)\.v\d+$/i;

/**
 * Parses a QuickBooks webhook body (already verified). Returns the events, or throws WebhookBodyError
 * naming what is wrong. An empty `eventNotifications` (Intuit's verification ping) or `[]` yields no events.
 */
export function parseQboWebhook(body: unknown): QboEvent[] {
  if (Array.isArray(body)) {
    return body.map((ce, i) => {
      const at = `CloudEvent [${i}]`;
      if (!isObject(ce)) throw new WebhookBodyError(`${at} is not an object`);
      const id = idField(ce.id);
      if (!id) throw new WebhookBodyError(`${at} has no "id"`);
      const type = typeof ce.type === 'string' ? TYPE_PATTERN.exec(ce.type) : null;
      if (!type)
        throw new WebhookBodyError(
          `${at} has type ${JSON.stringify(ce.type)}; expected "qbo.<entity>.<verb>.v1"`,
        );
      const realmId = idField(ce.intuitaccountid);
      if (!realmId) throw new WebhookBodyError(`${at} has no "intuitaccountid" (the company realm id)`);
      const entityId = idField(ce.intuitentityid);
      if (!entityId) throw new WebhookBodyError(`${at} has no "intuitentityid"`);
      const verb = (type[2] ?? '').toLowerCase();
      return {
        eventId: id,
        realmId,
        entity: (type[1] ?? '').toLowerCase(),
        entityId,
        operation: CLOUDEVENT_VERBS[verb] ?? verb,
        time: typeof ce.time === 'string' ? ce.time : null,
        payload: ce,
      };
    });
  }
  if (!isObject(body))
    throw new WebhookBodyError(
      'body must be a CloudEvents array or a legacy {"eventNotifications": [...]} object',
    );
  if (!('eventNotifications' in body))
    throw new WebhookBodyError(
      'body is neither a CloudEvents array nor a legacy notification: "eventNotifications" is missing',
    );
  const notifications = body.eventNotifications;
  if (!Array.isArray(notifications)) throw new WebhookBodyError('"eventNotifications" must be an array');
  const events: QboEvent[] = [];
  notifications.forEach((n, i) => {
    const at = `eventNotifications[${i}]`;
    if (!isObject(n)) throw new WebhookBodyError(`${at} is not an object`);
    const realmId = idField(n.realmId);
    if (!realmId) throw new WebhookBodyError(`${at} has no "realmId"`);
    const change = n.dataChangeEvent;
    if (!isObject(change) || !Array.isArray(change.entities))
      throw new WebhookBodyError(`${at}.dataChangeEvent.entities must be an array`);
    change.entities.forEach((e, j) => {
      const eat = `${at}.dataChangeEvent.entities[${j}]`;
      if (!isObject(e)) throw new WebhookBodyError(`${eat} is not an object`);
      const name = typeof e.name === 'string' && e.name.trim() ? e.name.trim() : null;
      if (!name) throw new WebhookBodyError(`${eat} has no "name"`);
      const entityId = idField(e.id);
      if (!entityId) throw new WebhookBodyError(`${eat} has no "id"`);
      const op = typeof e.operation === 'string' && e.operation.trim() ? e.operation.trim() : null;
      if (!op) throw new WebhookBodyError(`${eat} has no "operation"`);
      const lastUpdated = typeof e.lastUpdated === 'string' ? e.lastUpdated : '';
      // The legacy format has no event id: the same change always yields the same key (retries dedupe).
      const eventId = `legacy:${realmId}:${name}:${entityId}:${op}:${lastUpdated}`;
      events.push({
        eventId,
        realmId,
        entity: name.toLowerCase(),
        entityId,
        operation: LEGACY_OPERATIONS[op.toLowerCase()] ?? op.toLowerCase(),
        time: lastUpdated || null,
        payload: { realmId, ...e },
      });
    });
  });
  return events;
}

// ---- ServiceM8 ----------------------------------------------------------------------------------------

export function sm8SecretHash(secret: string): string {
  return crypto.createHash('sha256').update(secret, 'utf8').digest('hex');
}

export type Sm8Webhook =
  | { kind: 'challenge'; challenge: string }
  | {
      kind: 'notification';
      object: string;
      entries: Array<{ uuid: string; changedFields: string[]; time: string }>;
      resourceUrl: string | null;
    };

/** Parses a ServiceM8 callback body: the subscribe challenge (form or JSON) or an object notification. */
export function parseSm8Webhook(body: unknown): Sm8Webhook {
  if (!isObject(body))
    throw new WebhookBodyError('body must be a JSON object {object, entry: [...]} or a subscribe challenge');
  if (body.mode !== undefined || body.challenge !== undefined) {
    if (body.mode !== 'subscribe')
      throw new WebhookBodyError(`unknown mode ${JSON.stringify(body.mode)}; expected "subscribe"`);
    if (typeof body.challenge !== 'string' || body.challenge === '')
      throw new WebhookBodyError('a subscribe request must carry a "challenge"');
    return { kind: 'challenge', challenge: body.challenge };
  }
  if (typeof body.object !== 'string' || body.object.trim() === '')
    throw new WebhookBodyError('notification has no "object" (e.g. "job")');
  if (!Array.isArray(body.entry) || body.entry.length === 0)
    throw new WebhookBodyError('notification has no "entry" array');
  const entries = body.entry.map((e, i) => {
    if (!isObject(e)) throw new WebhookBodyError(`entry[${i}] is not an object`);
    const uuid = idField(e.uuid);
    if (!uuid) throw new WebhookBodyError(`entry[${i}] has no "uuid"`);
    const changed = e.changed_fields;
    if (changed !== undefined && !(Array.isArray(changed) && changed.every((f) => typeof f === 'string')))
      throw new WebhookBodyError(`entry[${i}].changed_fields must be an array of field names`);
    return {
      uuid,
      changedFields: (changed ?? []) as string[],
      time: typeof e.time === 'string' ? e.time : '',
    };
  });
  return {
    kind: 'notification',
    object: body.object.trim().toLowerCase(),
    entries,
    resourceUrl: typeof body.resource_url === 'string' ? body.resource_url : null,
  };
}

/** ServiceM8 notifications carry no id: object + uuid + time + changed fields identify one change. */
export function sm8EventId(
  connectionId: string,
  object: string,
  entry: { uuid: string; time: string; changedFields: string[] },
): string {
  return `sm8:${connectionId}:${object}:${entry.uuid}:${entry.time}:${[...entry.changedFields].sort().join(',')}`;
}

/** Reads a raw body as ServiceM8 sends it: form-encoded (challenge) or JSON (notifications). */
function decodeSm8Body(raw: Buffer, contentType: string | undefined): unknown {
  const text = raw.toString('utf8');
  const type = (contentType ?? '').toLowerCase();
  const form = () => Object.fromEntries(new URLSearchParams(text));
  if (type.includes('application/x-www-form-urlencoded')) return form();
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // Some senders post the challenge form without a form content type.
    if (/^mode=/.test(text.trim())) return form();
    throw new WebhookBodyError(`body is not valid JSON: ${(err as Error).message}`);
  }
}

// ---- routes -------------------------------------------------------------------------------------------

/** Stores the events, routes them within the budget (the rest continues, or waits for the relay). */
async function acceptEvents(
  deps: WebhookDeps,
  events: InboxEventInput[],
): Promise<{ received: number; duplicates: number; routed: number; pending: number; unrouted: number }> {
  const { stored, duplicates } = await recordEvents(deps.pool, events);
  const pendingRows = stored.filter((r) => r.state === 'pending');
  const counts = {
    received: events.length,
    duplicates,
    routed: 0,
    pending: pendingRows.length,
    unrouted: stored.length - pendingRows.length,
  };
  if (pendingRows.length === 0) return counts;
  const routing = routeRows(deps.pool, deps, pendingRows)
    .then((outcome) => {
      if (outcome.pending > 0)
        deps.log.warn(
          `webhook: ${outcome.pending} event(s) stored for the inbox relay: ${outcome.lastError ?? ''}`,
        );
      return outcome;
    })
    .catch((err: unknown) => {
      deps.log.error(`webhook: routing failed, the inbox relay will retry: ${String(err)}`);
      return null;
    });
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), deps.routingBudgetMs ?? DEFAULT_ROUTING_BUDGET_MS);
  });
  const outcome = await Promise.race([routing, budget]);
  clearTimeout(timer);
  if (outcome) {
    counts.routed = outcome.routed;
    counts.pending = outcome.pending;
  }
  return counts;
}

function badRequest(deps: WebhookDeps, reply: FastifyReply, source: string, message: string) {
  deps.log.warn(`webhook ${source}: rejected a malformed body: ${message}`);
  return reply.code(400).send({ error: message });
}

async function quickbooksHandler(deps: WebhookDeps, req: FastifyRequest, reply: FastifyReply) {
  if (!deps.qboVerifier) {
    deps.log.error('webhook quickbooks: QBO_WEBHOOK_VERIFIER is not configured; refusing the delivery');
    return reply
      .code(503)
      .send({ error: 'QuickBooks webhooks are not configured here (QBO_WEBHOOK_VERIFIER is unset)' });
  }
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const signature = req.headers['intuit-signature'];
  const header = Array.isArray(signature) ? signature[0] : signature;
  if (!header) {
    deps.log.warn('webhook quickbooks: refused a delivery without intuit-signature');
    return reply.code(401).send({ error: 'missing intuit-signature header' });
  }
  if (!verifyIntuitSignature(deps.qboVerifier, raw, header)) {
    deps.log.warn('webhook quickbooks: refused a delivery with a bad intuit-signature');
    return reply
      .code(401)
      .send({ error: 'intuit-signature does not match the body (HMAC-SHA256 with the verifier token)' });
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    return badRequest(deps, reply, 'quickbooks', `body is not valid JSON: ${(err as Error).message}`);
  }
  let events: QboEvent[];
  try {
    events = parseQboWebhook(body);
  } catch (err) {
    if (err instanceof WebhookBodyError) return badRequest(deps, reply, 'quickbooks', err.message);
    throw err;
  }
  const realms = new Map<string, string | null>();
  for (const realm of new Set(events.map((e) => e.realmId))) {
    realms.set(realm, (await deps.store.findByRealm(realm))?.id ?? null);
  }
  const counts = await acceptEvents(
    deps,
    events.map((e) => ({
      source: 'qbo',
      connectionId: realms.get(e.realmId) ?? null,
      eventId: e.eventId,
      entity: e.entity,
      entityId: e.entityId,
      operation: e.operation,
      payload: e.payload,
    })),
  );
  return reply.code(200).send(counts);
}

async function servicem8Handler(deps: WebhookDeps, req: FastifyRequest, reply: FastifyReply) {
  const secret = (req.params as { secret?: string }).secret ?? '';
  const found = /^[A-Za-z0-9_-]{16,200}$/.test(secret)
    ? await deps.pool.query<{ id: string }>('SELECT id FROM connections WHERE sm8_webhook_secret_hash = $1', [
        sm8SecretHash(secret),
      ])
    : null;
  const connectionId = found?.rows[0]?.id;
  if (!connectionId) return reply.code(404).send({ error: 'unknown webhook address' });
  let parsed: Sm8Webhook;
  try {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    parsed = parseSm8Webhook(decodeSm8Body(raw, req.headers['content-type']));
  } catch (err) {
    if (err instanceof WebhookBodyError) return badRequest(deps, reply, 'servicem8', err.message);
    throw err;
  }
  if (parsed.kind === 'challenge') {
    deps.log.debug(`webhook servicem8: answered the subscription challenge of connection ${connectionId}`);
    return reply.code(200).type('text/plain; charset=utf-8').send(parsed.challenge);
  }
  const counts = await acceptEvents(
    deps,
    parsed.entries.map((entry) => ({
      source: 'sm8',
      connectionId,
      eventId: sm8EventId(connectionId, parsed.object, entry),
      entity: parsed.object,
      entityId: entry.uuid,
      operation: null,
      payload: {
        object: parsed.object,
        entry: { uuid: entry.uuid, changed_fields: entry.changedFields, time: entry.time },
        resource_url: parsed.resourceUrl,
      },
    })),
  );
  return reply.code(200).send(counts);
}

export function registerWebhookRoutes(app: FastifyInstance, deps: WebhookDeps): void {
  void app.register(async (scope) => {
    // Raw bytes for every content type: the QuickBooks signature is computed over the exact body, and
    // ServiceM8 posts forms (challenge) as well as JSON. Scoped: other routes keep Fastify's parsers.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      ['application/json', 'application/cloudevents+json', 'application/x-www-form-urlencoded'],
      { parseAs: 'buffer', bodyLimit: BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) =>
      done(null, body),
    );
    scope.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      deps.log.error(`webhook: answered ${status}: ${err.message}`);
      // 500 (e.g. PostgreSQL unreachable): nothing was acknowledged, so the sender delivers it again.
      const error = status === 500 ? 'the events could not be stored; deliver them again' : err.message;
      return reply.code(status).send({ error });
    });
    scope.post('/webhooks/quickbooks', { bodyLimit: BODY_LIMIT }, (req, reply) =>
      quickbooksHandler(deps, req, reply),
    );
    scope.post('/webhooks/servicem8/:secret', { bodyLimit: BODY_LIMIT }, (req, reply) =>
      servicem8Handler(deps, req, reply),
    );
  });
}
