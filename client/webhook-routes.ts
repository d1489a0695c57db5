/**
 * Webhook receivers (TRG-1):
 *  - POST /webhooks/quickbooks: `intuit-signature` (base64 HMAC-SHA256 of the RAW body with the verifier
 *    token) is checked before anything is parsed; CloudEvents batches and the legacy format are accepted.
 *  - POST /webhooks/servicem8/:secret: the connection is found by sha256(secret) (TRG-3 registers that URL);
 *    the subscription challenge is answered with the challenge value only.
 * Authentication comes first, in a preValidation hook over the raw bytes; the hook then parses the body
 * and Fastify validates it against its schema (webhook-schemas.ts), so a malformed body is refused with 400
 * naming the field before anything is stored.
 * Every accepted event is stored in the PostgreSQL inbox, and the sender gets 200 at once (issue 12): senders
 * may deliver one call at a time, so an answer that waited for routing would hold every later event behind
 * it (during onboarding, an approval waited 10-20 s behind the echoes of the import's writes). The stored
 * events are then routed to their owner workflows, a few requests at a time; what cannot be routed (Temporal
 * being down) stays pending for the inbox relay.
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import type { ConnectionStore } from '../store/connections';
import type { LinkStore } from '../store/links';
import type { Logger } from '../infra/log';
import { HttpError } from './http-errors';
import type { LazyTemporal } from './temporal-client';
import type { InboxEventInput } from '../store/inbox';
import { recordEvents, routeRowsWhenReachable } from './webhook-inbox';
import {
  QBO_EVENT_TYPE,
  qboWebhookBodySchema,
  sm8WebhookBodySchema,
  sm8WebhookParamsSchema,
  type QboWebhookBody,
  type Sm8WebhookBody,
} from './webhook-schemas';

export interface WebhookDeps {
  pool: Pool;
  temporal: LazyTemporal;
  links: LinkStore;
  store: ConnectionStore;
  taskQueue: string;
  /** Intuit's verifier token (QBO_WEBHOOK_VERIFIER); unset: QuickBooks webhooks are refused with 503. */
  qboVerifier: string | undefined;
  log: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
}

/**
 * Intuit batches up to ~100 events / ~1 MB per POST (docs/quickbooks-api.md §5.1); a few hundred legacy
 * entities take ~100 KB. ServiceM8 posts one record per call: 64 KB is ample. The route's limit is the one
 * Fastify applies.
 */
const QBO_BODY_LIMIT = 1024 * 1024;
const SM8_BODY_LIMIT = 64 * 1024;
/** Requests whose stored events are routed at the same time; later ones wait their turn (oldest first). */
const ROUTING_AT_ONCE = 4;

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
// CloudEvents verbs: `void` and `voided` are both seen in the wild (docs/quickbooks-api.md §5.4), one name
// for both.
const CLOUDEVENT_VERBS: Record<string, string> = { void: 'voided' };

/** The events of a verified, schema-valid body. An empty `eventNotifications` (Intuit's ping) or `[]` has none. */
export function parseQboWebhook(body: QboWebhookBody): QboEvent[] {
  const typePattern = new RegExp(QBO_EVENT_TYPE);
  if (Array.isArray(body)) {
    return body.map((ce) => {
      const [, entity = '', verb = ''] = typePattern.exec(ce.type) ?? [];
      return {
        eventId: ce.id.trim(),
        realmId: ce.intuitaccountid.trim(),
        entity: entity.toLowerCase(),
        entityId: ce.intuitentityid.trim(),
        operation: CLOUDEVENT_VERBS[verb.toLowerCase()] ?? verb.toLowerCase(),
        time: ce.time ?? null,
        payload: ce,
      };
    });
  }
  return body.eventNotifications.flatMap((n) => {
    const realmId = n.realmId.trim();
    return n.dataChangeEvent.entities.map((e) => {
      const [name, entityId, op] = [e.name.trim(), e.id.trim(), e.operation.trim()];
      const lastUpdated = e.lastUpdated ?? '';
      return {
        // The legacy format has no event id: the same change always yields the same key (retries dedupe).
        eventId: `legacy:${realmId}:${name}:${entityId}:${op}:${lastUpdated}`,
        realmId,
        entity: name.toLowerCase(),
        entityId,
        operation: LEGACY_OPERATIONS[op.toLowerCase()] ?? op.toLowerCase(),
        time: lastUpdated || null,
        payload: { realmId, ...e },
      };
    });
  });
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

/** A schema-valid ServiceM8 callback body, normalised. */
export function parseSm8Webhook(body: Sm8WebhookBody): Sm8Webhook {
  if ('mode' in body) return { kind: 'challenge', challenge: body.challenge };
  return {
    kind: 'notification',
    object: body.object.trim().toLowerCase(),
    entries: body.entry.map((e) => ({
      uuid: e.uuid.trim(),
      changedFields: e.changed_fields ?? [],
      time: e.time ?? '',
    })),
    resourceUrl: body.resource_url ?? null,
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
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message}`);
  }
}

// ---- routes -------------------------------------------------------------------------------------------

/** Runs at most `n` tasks at once, the others in arrival order. */
function limiter(n: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await task();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}

/**
 * Stores the events and answers; the new ones are routed after (a few requests at a time). `pending`: stored
 * events on their way to their owners; `unrouted`: stored events nobody owns (kept for the record).
 */
async function acceptEvents(
  deps: WebhookDeps,
  inTurn: ReturnType<typeof limiter>,
  events: InboxEventInput[],
): Promise<{ received: number; duplicates: number; pending: number; unrouted: number }> {
  const { stored, duplicates } = await recordEvents(deps.pool, events);
  const pendingRows = stored.filter((r) => r.state === 'pending');
  if (pendingRows.length > 0)
    void inTurn(() => routeRowsWhenReachable(deps.pool, deps, pendingRows))
      .then((outcome) => {
        if (outcome.pending > 0)
          deps.log.warn(
            `webhook: ${outcome.pending} event(s) stored for the inbox relay: ${outcome.lastError ?? ''}`,
          );
      })
      .catch((err: unknown) => {
        deps.log.error(`webhook: routing failed, the inbox relay will retry: ${String(err)}`);
      });
  return {
    received: events.length,
    duplicates,
    pending: pendingRows.length,
    unrouted: stored.length - pendingRows.length,
  };
}

/** Signature over the raw bytes, then JSON: what Fastify validates against the schema. */
function verifyAndParseQbo(deps: WebhookDeps, req: FastifyRequest): unknown {
  if (!deps.qboVerifier)
    throw new HttpError(503, 'QuickBooks webhooks are not configured here (QBO_WEBHOOK_VERIFIER is unset)');
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const signature = req.headers['intuit-signature'];
  const header = Array.isArray(signature) ? signature[0] : signature;
  if (!header) throw new HttpError(401, 'missing intuit-signature header');
  if (!verifyIntuitSignature(deps.qboVerifier, raw, header))
    throw new HttpError(
      401,
      'intuit-signature does not match the body (HMAC-SHA256 with the verifier token)',
    );
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message}`);
  }
}

async function quickbooksHandler(
  deps: WebhookDeps,
  inTurn: ReturnType<typeof limiter>,
  req: FastifyRequest,
  reply: FastifyReply,
) {
  const events = parseQboWebhook(req.body as QboWebhookBody);
  const realms = new Map<string, string | null>();
  for (const realm of new Set(events.map((e) => e.realmId))) {
    realms.set(realm, (await deps.store.findByRealm(realm))?.id ?? null);
  }
  const counts = await acceptEvents(
    deps,
    inTurn,
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

/** The connection whose secret is in the URL (the request's only credential), or 404. */
async function sm8Connection(deps: WebhookDeps, secret: string): Promise<string> {
  const connectionId = /^[A-Za-z0-9_-]{16,200}$/.test(secret)
    ? await deps.store.findBySm8WebhookSecretHash(sm8SecretHash(secret))
    : null;
  if (!connectionId) throw new HttpError(404, 'unknown webhook address');
  return connectionId;
}

async function servicem8Handler(
  deps: WebhookDeps,
  inTurn: ReturnType<typeof limiter>,
  connectionId: string,
  req: FastifyRequest,
  reply: FastifyReply,
) {
  const parsed = parseSm8Webhook(req.body as Sm8WebhookBody);
  if (parsed.kind === 'challenge') {
    deps.log.debug(`webhook servicem8: answered the subscription challenge of connection ${connectionId}`);
    return reply.code(200).type('text/plain; charset=utf-8').send(parsed.challenge);
  }
  const counts = await acceptEvents(
    deps,
    inTurn,
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

// 500 (e.g. PostgreSQL unreachable): nothing was acknowledged, so the sender delivers it again.
const WEBHOOK_ROUTE = {
  config: { failureMessage: 'the events could not be stored; deliver them again' },
};

export function registerWebhookRoutes(app: FastifyInstance, deps: WebhookDeps): void {
  const inTurn = limiter(ROUTING_AT_ONCE);
  void app.register(async (scope) => {
    // Raw bytes for every content type: the QuickBooks signature is computed over the exact body, and
    // ServiceM8 posts forms (challenge) as well as JSON. Scoped: other routes keep Fastify's parsers.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      ['application/json', 'application/cloudevents+json', 'application/x-www-form-urlencoded'],
      { parseAs: 'buffer' },
      (_req, body, done) => done(null, body),
    );
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post('/webhooks/quickbooks', {
      ...WEBHOOK_ROUTE,
      bodyLimit: QBO_BODY_LIMIT,
      schema: { body: qboWebhookBodySchema },
      preValidation: async (req) => {
        req.body = verifyAndParseQbo(deps, req);
      },
      handler: (req, reply) => quickbooksHandler(deps, inTurn, req, reply),
    });
    // The connection found in preValidation, for the handler of the same request.
    const sm8Connections = new WeakMap<FastifyRequest, string>();
    scope.post('/webhooks/servicem8/:secret', {
      ...WEBHOOK_ROUTE,
      bodyLimit: SM8_BODY_LIMIT,
      schema: { params: sm8WebhookParamsSchema, body: sm8WebhookBodySchema },
      preValidation: async (req) => {
        const secret = (req.params as { secret?: string }).secret ?? '';
        sm8Connections.set(req, await sm8Connection(deps, secret));
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        req.body = decodeSm8Body(raw, req.headers['content-type']);
      },
      handler: (req, reply) => servicem8Handler(deps, inTurn, sm8Connections.get(req) ?? '', req, reply),
    });
  });
}
