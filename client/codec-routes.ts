/**
 * The codec server (issue 10): Temporal's remote codec protocol, so the Temporal Web UI (and `temporal` CLI
 * tools) can show the payloads the product encrypts. `POST /codec/decode` and `POST /codec/encode` take and
 * answer `{ payloads: [{ metadata: { key: base64 }, data: base64 }] }` (Payload protobuf as JSON).
 *
 * Decoding hands out customer data, so these routes belong behind the API's authentication; this file does
 * no authentication itself. The browser calls them from the Web UI's origin with credentials (its session
 * cookie), so the answers carry CORS headers for that one origin (TEMPORAL_UI_ORIGIN) and no other, and the
 * preflight (OPTIONS, which a browser sends without credentials) is registered separately, outside any auth.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { HttpError } from './http-errors';

export interface CodecRouteDeps {
  codec: PayloadCodec;
  /** The Temporal Web UI's browser origin (config.temporal.uiOrigin): the only origin allowed. */
  uiOrigin: string;
  /** The Temporal namespace whose payloads these keys protect (config.temporal.namespace). */
  namespace: string;
}

export const CODEC_PATHS = ['/codec/encode', '/codec/decode'] as const;

// Payloads reach 2 MB each by Temporal's default limit; one request carries an event's worth of them.
const BODY_LIMIT = 8 * 1024 * 1024;
const BASE64 = '^[A-Za-z0-9+/_-]*={0,2}$';
// What the Web UI sends (Authorization only when it passes its own access token).
const ALLOWED_HEADERS = 'Content-Type, X-Namespace, Authorization';

const payloadsSchema = {
  type: 'object',
  required: ['payloads'],
  properties: {
    payloads: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          metadata: { type: 'object', additionalProperties: { type: 'string', pattern: BASE64 } },
          data: { type: 'string', pattern: BASE64 },
        },
      },
    },
  },
} as const;

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** Proto3 JSON leaves out empty fields: a missing `data` or `metadata` is an empty one. */
function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
    ),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}

/** CORS for the Web UI's origin only; every answer varies by Origin so no cache hands one to another. */
function allowUiOrigin(deps: CodecRouteDeps, req: FastifyRequest, reply: FastifyReply): void {
  reply.header('Vary', 'Origin');
  if (req.headers.origin !== deps.uiOrigin) return;
  reply.header('Access-Control-Allow-Origin', deps.uiOrigin);
  reply.header('Access-Control-Allow-Credentials', 'true');
}

/** The CORS preflight of the codec routes: no credentials come with it, so it must stay outside auth. */
export function registerCodecPreflight(app: FastifyInstance, deps: CodecRouteDeps): void {
  for (const url of CODEC_PATHS) {
    app.options(url, async (req, reply) => {
      allowUiOrigin(deps, req, reply);
      if (req.headers.origin !== deps.uiOrigin) {
        throw new HttpError(
          403,
          `the codec endpoint answers only the Temporal Web UI at ${deps.uiOrigin} (TEMPORAL_UI_ORIGIN), not ${req.headers.origin ?? 'a request without an Origin'}`,
        );
      }
      return reply
        .code(204)
        .header('Access-Control-Allow-Methods', 'POST')
        .header('Access-Control-Allow-Headers', ALLOWED_HEADERS)
        .header('Access-Control-Max-Age', '600')
        .send();
    });
  }
}

/** POST /codec/encode and /codec/decode. Register them where the API authenticates its operators. */
export function registerCodecRoutes(app: FastifyInstance, deps: CodecRouteDeps): void {
  for (const url of CODEC_PATHS) {
    const decode = url.endsWith('/decode');
    app.post<{ Body: { payloads: JsonPayload[] } }>(
      url,
      {
        schema: { body: payloadsSchema },
        bodyLimit: BODY_LIMIT,
        // onSend also runs for a refusal sent by an earlier hook (auth): the browser then sees the 401.
        onSend: async (req, reply, payload) => {
          allowUiOrigin(deps, req, reply);
          return payload;
        },
        config: { failureMessage: `the codec could not ${decode ? 'decode' : 'encode'} these payloads` },
      },
      async (req) => {
        const namespace = req.headers['x-namespace'];
        if (typeof namespace === 'string' && namespace !== '' && namespace !== deps.namespace) {
          throw new HttpError(
            400,
            `this codec holds the keys of namespace "${deps.namespace}", not "${namespace}" (X-Namespace)`,
          );
        }
        const payloads = req.body.payloads.map(fromJson);
        let out: Payload[];
        try {
          out = decode ? await deps.codec.decode(payloads) : await deps.codec.encode(payloads);
        } catch (err) {
          // The codec's messages say which key is missing or that a payload was altered; no data in them.
          throw new HttpError(400, (err as Error).message);
        }
        return { payloads: out.map(toJson) };
      },
    );
  }
}
