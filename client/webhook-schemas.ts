/**
 * JSON schemas of the webhook bodies (TRG-1), checked by Fastify's ajv once the body is authenticated and
 * parsed (see webhook-routes.ts). Each body has two shapes; `if`/`then`/`else` picks the shape first, so a
 * failure names one field of the shape the sender meant instead of every way both shapes failed (which
 * `anyOf`/`oneOf` would report). Ids are strings in the docs; ajv's type coercion turns numbers into strings.
 */

const text = { type: 'string', minLength: 1, pattern: '\\S' } as const;

/** A CloudEvents type such as `qbo.invoice.emailed.v1`: entity and verb. */
export const QBO_EVENT_TYPE = '^qbo\\.([a-zA-Z][a-zA-Z0-9_]*)\\.([a-zA-Z][a-zA-Z_]*)\\.v[0-9]+$';

const cloudEvent = {
  type: 'object',
  required: ['id', 'type', 'intuitaccountid', 'intuitentityid'],
  properties: {
    id: text,
    type: { type: 'string', pattern: QBO_EVENT_TYPE },
    intuitaccountid: text,
    intuitentityid: text,
    time: { type: 'string' },
  },
} as const;

const legacyNotification = {
  type: 'object',
  required: ['realmId', 'dataChangeEvent'],
  properties: {
    realmId: text,
    dataChangeEvent: {
      type: 'object',
      required: ['entities'],
      properties: {
        entities: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'id', 'operation'],
            properties: { name: text, id: text, operation: text, lastUpdated: { type: 'string' } },
          },
        },
      },
    },
  },
} as const;

/** A CloudEvents array, or the legacy `{"eventNotifications": [...]}` (empty: Intuit's verification ping). */
export const qboWebhookBodySchema = {
  if: { type: 'array' },
  then: { type: 'array', items: cloudEvent },
  else: {
    type: 'object',
    required: ['eventNotifications'],
    properties: { eventNotifications: { type: 'array', items: legacyNotification } },
  },
} as const;

export interface QboCloudEvent {
  id: string;
  type: string;
  intuitaccountid: string;
  intuitentityid: string;
  time?: string;
  [key: string]: unknown;
}

export interface QboLegacyEntity {
  name: string;
  id: string;
  operation: string;
  lastUpdated?: string;
  [key: string]: unknown;
}

export type QboWebhookBody =
  | QboCloudEvent[]
  | { eventNotifications: Array<{ realmId: string; dataChangeEvent: { entities: QboLegacyEntity[] } }> };

/** The subscribe challenge (form or JSON), or an object notification. */
export const sm8WebhookBodySchema = {
  type: 'object',
  if: { anyOf: [{ required: ['mode'] }, { required: ['challenge'] }] },
  then: {
    required: ['mode', 'challenge'],
    properties: { mode: { const: 'subscribe' }, challenge: { type: 'string', minLength: 1 } },
  },
  else: {
    required: ['object', 'entry'],
    properties: {
      object: text,
      entry: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['uuid'],
          properties: {
            uuid: text,
            changed_fields: { type: 'array', items: { type: 'string' } },
            time: { type: 'string' },
          },
        },
      },
      resource_url: { type: 'string' },
    },
  },
} as const;

export type Sm8WebhookBody =
  | { mode: 'subscribe'; challenge: string }
  | {
      object: string;
      entry: Array<{ uuid: string; changed_fields?: string[]; time?: string }>;
      resource_url?: string;
    };

export const sm8WebhookParamsSchema = {
  type: 'object',
  required: ['secret'],
  properties: { secret: { type: 'string', maxLength: 200 } },
} as const;
