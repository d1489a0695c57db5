/**
 * JSON schemas of the webhook bodies (TRG-1), checked by Fastify's ajv once the body is authenticated and
 * parsed (see webhook-routes.ts). Each body has two shapes; `if`/`then`/`else` picks the shape first, so a
 * failure names one field of the shape the sender meant instead of every way both shapes failed (which
 * `anyOf`/`oneOf` would report). Ids are strings in the docs; ajv's type coercion turns numbers into strings.
 */

const text = { type: 'string', minLength: 1, pattern: '\\S' } as const;
/** Bounded text: every field has a length limit, every array a count limit (no body wakes unbounded work). */
const short = (maxLength: number) => ({ ...text, maxLength }) as const;

/** Events per QuickBooks POST: Intuit sends up to ~100; room for a few hundred more. */
export const QBO_MAX_EVENTS = 1000;
/** Records per ServiceM8 POST: ServiceM8 sends one; a few more are tolerated. */
export const SM8_MAX_ENTRIES = 10;

/** A CloudEvents type such as `qbo.invoice.emailed.v1`: entity and verb. */
export const QBO_EVENT_TYPE = '^qbo\\.([a-zA-Z][a-zA-Z0-9_]*)\\.([a-zA-Z][a-zA-Z_]*)\\.v[0-9]+$';

const cloudEvent = {
  type: 'object',
  required: ['id', 'type', 'intuitaccountid', 'intuitentityid'],
  properties: {
    id: short(200),
    type: { type: 'string', maxLength: 200, pattern: QBO_EVENT_TYPE },
    intuitaccountid: short(32),
    intuitentityid: short(64),
    time: { type: 'string', maxLength: 64 },
  },
} as const;

const legacyNotification = {
  type: 'object',
  required: ['realmId', 'dataChangeEvent'],
  properties: {
    realmId: short(32),
    dataChangeEvent: {
      type: 'object',
      required: ['entities'],
      properties: {
        entities: {
          type: 'array',
          maxItems: QBO_MAX_EVENTS,
          items: {
            type: 'object',
            required: ['name', 'id', 'operation'],
            properties: {
              name: short(64),
              id: short(64),
              operation: short(32),
              lastUpdated: { type: 'string', maxLength: 64 },
            },
          },
        },
      },
    },
  },
} as const;

/** A CloudEvents array, or the legacy `{"eventNotifications": [...]}` (empty: Intuit's verification ping). */
export const qboWebhookBodySchema = {
  if: { type: 'array' },
  then: { type: 'array', maxItems: QBO_MAX_EVENTS, items: cloudEvent },
  else: {
    type: 'object',
    required: ['eventNotifications'],
    properties: { eventNotifications: { type: 'array', maxItems: 100, items: legacyNotification } },
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
    properties: {
      mode: { const: 'subscribe' },
      challenge: { type: 'string', minLength: 1, maxLength: 1000 },
    },
  },
  else: {
    required: ['object', 'entry'],
    properties: {
      object: { type: 'string', pattern: '^[A-Za-z]{1,64}$' },
      entry: {
        type: 'array',
        minItems: 1,
        maxItems: SM8_MAX_ENTRIES,
        items: {
          type: 'object',
          required: ['uuid'],
          properties: {
            uuid: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' },
            changed_fields: { type: 'array', maxItems: 200, items: { type: 'string', maxLength: 64 } },
            time: { type: 'string', maxLength: 40 },
          },
        },
      },
      resource_url: { type: 'string', maxLength: 2000 },
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
