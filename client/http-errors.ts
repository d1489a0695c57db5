/**
 * One error answer for every route: `{ error: "<what is wrong>" }` with the right status, logged once.
 * Schema failures name the field and the problem (`body/eventNotifications/0/realmId must be string`), so a
 * sender can fix its request without reading our code; Temporal being unreachable is a 503, never a 500.
 */
import type { FastifyError, FastifyInstance, FastifySchemaValidationError } from 'fastify';
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
    if (status === 500)
      message = (req.routeOptions.config as RouteErrorConfig).failureMessage ?? 'internal error';
    // The route pattern, not the URL: a ServiceM8 callback URL carries its secret.
    const where = `${req.method} ${req.routeOptions.url ?? '(no route)'}`;
    // Temporal being down is an outage reported by the relay and /health: a warning per refused call.
    if (status >= 500 && !isTemporalDown(err)) log.error(`${where}: answered ${status}: ${err.message}`);
    else log.warn(`${where}: answered ${status}: ${message}`);
    return reply.code(status).send({ error: message });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` }),
  );
}
