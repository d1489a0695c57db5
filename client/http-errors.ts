/**
 * One error answer for every route: `{ error: "<what is wrong>" }` with the right status, logged once.
 * Schema failures name the field and the problem (`body/eventNotifications/0/realmId must be string`), so a
 * sender can fix its request without reading our code; Temporal being unreachable is a 503, never a 500.
 * Answers carry no internals: a 5xx says what to do in plain words, the details (addresses, stacks,
 * upstream bodies) go to the log. Malformed percent-encoding anywhere in the URL is a 400.
 */
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchemaValidationError,
} from 'fastify';
import type { SchemaErrorDataVar } from 'fastify/types/schema';
import type { Logger } from '../infra/log';
import { isTemporalDown } from './temporal-client';

/** A refusal with its status, thrown from hooks and handlers. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Route option `config.failureMessage`: what a 500 tells the sender (default: a generic message). */
export interface RouteErrorConfig {
  failureMessage?: string;
}

// Keywords that only say "a branch failed"; the branch's own error says what is wrong.
const BRANCH_KEYWORDS = new Set(['if', 'anyOf', 'oneOf']);

function describeSchemaError(e: FastifySchemaValidationError, dataVar: string): string {
  const at = `${dataVar}${e.instancePath}`;
  const params = e.params as { allowedValue?: unknown; allowedValues?: unknown[] };
  if (e.keyword === 'const') return `${at} must be ${JSON.stringify(params.allowedValue)}`;
  if (e.keyword === 'enum')
    return `${at} must be one of ${(params.allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
  return `${at} ${e.message ?? 'is invalid'}`;
}

/** Fastify's schemaErrorFormatter: the first concrete failure (ajv stops at the first one). */
export function formatSchemaErrors(
  errors: FastifySchemaValidationError[],
  dataVar: SchemaErrorDataVar,
): Error {
  const first = errors.find((e) => !BRANCH_KEYWORDS.has(e.keyword)) ?? errors[0];
  return new Error(first ? describeSchemaError(first, dataVar) : `${dataVar} is invalid`);
}

// Values of these fields are never quoted back or logged, even when malformed (a mistyped key is still a key).
const SECRET_FIELD = /key|token|secret|password|code/i;

/** The offending value, when it is a short scalar and not a credential. */
function offendingValue(root: unknown, instancePath: string): string | null {
  const path = instancePath.split('/').slice(1);
  if (path.some((key) => SECRET_FIELD.test(key))) return null;
  let value: unknown = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return null;
    value = (value as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  if (value === undefined || (value !== null && typeof value === 'object')) return null;
  const text = JSON.stringify(value);
  return text.length <= 80 ? text : null;
}

/** What a client is told when Temporal cannot be reached (the address stays in the log). */
export const TEMPORAL_DOWN_MESSAGE = 'Temporal is unreachable; try again shortly';

function statusOf(err: FastifyError | HttpError | Error): number {
  if (isTemporalDown(err)) return 503;
  const status = (err as { statusCode?: number }).statusCode;
  return status && status >= 400 && status < 600 ? status : 500;
}

export function installErrorHandling(app: FastifyInstance, log: Pick<Logger, 'warn' | 'error'>): void {
  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    const status = statusOf(err);
    let message = err.message;
    const validation = (err as FastifyError).validation;
    const context = (err as FastifyError).validationContext;
    if (validation && context) {
      const failed = validation.find((e) => !BRANCH_KEYWORDS.has(e.keyword));
      const data = { body: req.body, params: req.params, querystring: req.query }[context as string];
      const got = failed ? offendingValue(data, failed.instancePath) : null;
      if (got !== null) message = `${message} (got ${got})`;
    }
    // Our own HttpErrors are written for the client; any other 5xx may carry internals.
    if (isTemporalDown(err)) message = TEMPORAL_DOWN_MESSAGE;
    else if (status >= 500 && !(err instanceof HttpError))
      message = (req.routeOptions.config as RouteErrorConfig).failureMessage ?? 'internal error';
    // The route pattern, not the URL: a ServiceM8 callback URL carries its secret.
    const where = `${req.method} ${req.routeOptions.url ?? '(no route)'}`;
    // Temporal being down is an outage reported by the relay and /health: a warning per refused call.
    if (isTemporalDown(err)) log.warn(`${where}: answered ${status}: ${err.message}`);
    else if (status >= 500) log.error(`${where}: answered ${status}: ${err.message}`);
    else log.warn(`${where}: answered ${status}: ${message}`);
    return reply.code(status).send({ error: message });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` }),
  );
  // The router checks the path's percent-encoding (frameworkErrors below); the query string is ours to check.
  app.addHook('onRequest', async (req) => {
    const q = req.url.indexOf('?');
    if (q >= 0 && !wellEncoded(req.url.slice(q + 1)))
      throw new HttpError(400, 'the query string has malformed percent-encoding');
  });
}

/** Whether every `&`/`=`-separated part of a query string decodes (valid %XX escapes of valid UTF-8). */
function wellEncoded(query: string): boolean {
  try {
    for (const part of query.split(/[&=]/)) decodeURIComponent(part.replace(/\+/g, ' '));
    return true;
  } catch {
    return false;
  }
}

/**
 * Fastify's `frameworkErrors` option: errors raised by the router before any route runs, answered in the
 * API's shape without quoting the URL back (a ServiceM8 webhook URL carries its secret).
 */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_BAD_URL')
    void reply.code(400).send({ error: 'the address has malformed percent-encoding' });
  else if (err.code === 'FST_ERR_MAX_PARAM_LENGTH')
    void reply.code(414).send({ error: 'a part of the address is too long' });
  else
    void reply
      .code(err.statusCode && err.statusCode < 500 ? err.statusCode : 400)
      .send({ error: 'bad request' });
}
