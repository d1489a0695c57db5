/**
 * HTTP wiring: one Fastify instance per simulator with body parsers, fault injection, the call log,
 * the API routes (api.ts) and the control routes (control.ts).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type IncomingMessage } from 'node:http';
import { type ApiRequest, type ApiResponse, ApiHandlers, type CallInfo } from './api';
import { type SimContext } from './context';
import { NOT_FOUND_MESSAGE, Sm8ApiError } from './errors';
import { type FaultAction } from './faults';
import { type SimulatorControl, registerControlRoutes } from './control';

interface RequestState {
  startedMs: number;
  time: string;
  fault?: FaultAction;
  info: CallInfo;
  logged: boolean;
}

const CONTROL_PREFIX = '/__sim';

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function queryOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

function parseForm(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

class BodyParseError extends Error {
  readonly statusCode = 400;
}

/** Error body in the shape of the surface the request was for. */
function errorResponse(path: string, error: unknown): ApiResponse {
  if (error instanceof Sm8ApiError) return { status: error.status, body: error.body, headers: error.headers };
  const status =
    typeof error === 'object' &&
    error !== null &&
    'statusCode' in error &&
    typeof error.statusCode === 'number'
      ? error.statusCode
      : 500;
  const message = error instanceof Error ? error.message : String(error);
  // Control-API misuse is always the caller's mistake.
  if (path.startsWith(CONTROL_PREFIX)) return { status: 400, body: { error: message } };
  if (path.startsWith('/oauth/'))
    return { status: 400, body: { error: 'invalid_request', error_description: message } };
  if (status < 500) return { status: 400, body: { errorCode: '1000', message } };
  return {
    status: 500,
    body: { errorCode: 500, message: 'An unexpected error occurred. Please try again later.' },
  };
}

export interface BuiltServer {
  app: FastifyInstance;
  /** Clears fault timers; the caller closes the app. */
  dispose(): void;
}

/** `afterWrite` runs after every request that is not a GET (the state file's cue to save). */
export function buildServer(
  ctx: SimContext,
  control: SimulatorControl,
  afterWrite?: () => void,
): BuiltServer {
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 10 * 1024 * 1024 });
  const handlers = new ApiHandlers(ctx);
  const states = new WeakMap<IncomingMessage, RequestState>();
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  // JSON bodies: an empty body counts as no fields; a broken one is the API's 400.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new BodyParseError(`the request body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, parseForm(String(body)));
  });
  // Anything else: JSON if it parses, else form fields (lenient like most PHP backends).
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    try {
      done(null, text.trim() === '' ? undefined : JSON.parse(text));
    } catch {
      done(null, parseForm(text));
    }
  });

  const logCall = (request: FastifyRequest, status: number) => {
    const state = states.get(request.raw);
    if (!state || state.logged) return;
    state.logged = true;
    const url = request.raw.url ?? request.url;
    const fault = state.fault;
    const faultName = fault
      ? fault.respond
        ? 'status'
        : fault.hangMs !== undefined
          ? 'timeout'
          : fault.commitThenDrop
            ? 'commitThenDrop'
            : 'latency'
      : undefined;
    ctx.calls.add({
      time: state.time,
      method: request.method,
      path: pathOf(url),
      query: queryOf(url),
      ...(state.info.object !== undefined ? { object: state.info.object } : {}),
      operation: state.info.operation,
      ...(state.info.uuid !== undefined ? { uuid: state.info.uuid } : {}),
      status,
      authKind: state.info.authKind,
      ...(faultName !== undefined ? { fault: faultName } : {}),
      ...(state.info.filter !== undefined ? { filter: state.info.filter } : {}),
      durationMs: Date.now() - state.startedMs,
    });
  };

  app.addHook('onRequest', async (request, reply) => {
    const url = request.raw.url ?? request.url;
    const path = pathOf(url);
    if (path.startsWith(CONTROL_PREFIX)) return;
    const state: RequestState = {
      startedMs: Date.now(),
      time: ctx.clock.now().toISOString(),
      info: { operation: 'unknown', authKind: 'none' },
      logged: false,
    };
    states.set(request.raw, state);
    const fault = ctx.faults.match(request.method, path);
    if (!fault) return;
    state.fault = fault;
    if (fault.latencyMs > 0) await new Promise<void>((resolve) => later(fault.latencyMs, resolve));
    if (fault.respond) {
      await reply.code(fault.respond.status).headers(fault.respond.headers).send(fault.respond.body);
      return reply;
    }
    if (fault.hangMs !== undefined) {
      // Never answer; drop the connection after the hang, like a gateway timing out.
      reply.hijack();
      logCall(request, 0);
      later(fault.hangMs, () => request.raw.socket.destroy());
      return reply;
    }
    return;
  });

  app.addHook('onResponse', async (request, reply) => {
    logCall(request, reply.statusCode);
  });

  const send = async (request: FastifyRequest, reply: FastifyReply, response: ApiResponse) => {
    const state = states.get(request.raw);
    const answerLatency = state?.fault?.answerLatencyMs ?? 0;
    if (answerLatency > 0) await new Promise<void>((resolve) => later(answerLatency, resolve));
    if (state?.fault?.commitThenDrop) {
      // The work is done (committed); the client only sees its connection die.
      reply.hijack();
      logCall(request, 0);
      request.raw.socket.destroy();
      return;
    }
    reply.code(response.status);
    if (response.headers) reply.headers(response.headers);
    return reply.send(response.body);
  };

  const run = async (
    request: FastifyRequest,
    reply: FastifyReply,
    handle: (apiRequest: ApiRequest, info: CallInfo) => ApiResponse | Promise<ApiResponse>,
  ) => {
    const state = states.get(request.raw);
    const info: CallInfo = state?.info ?? { operation: 'unknown', authKind: 'none' };
    const apiRequest: ApiRequest = {
      method: request.method,
      rawUrl: request.raw.url ?? request.url,
      headers: request.headers,
      query: (request.query ?? {}) as Record<string, unknown>,
      body: request.body,
    };
    let response: ApiResponse;
    try {
      response = await handle(apiRequest, info);
    } catch (error) {
      response = errorResponse(pathOf(apiRequest.rawUrl), error);
    }
    return send(request, reply, response);
  };

  app.route<{ Params: { '*': string } }>({
    method: ['GET', 'POST', 'DELETE', 'PUT', 'PATCH'],
    url: '/api_1.0/*',
    handler: (request, reply) =>
      run(request, reply, (r, info) => handlers.object(r, request.params['*'], info)),
  });
  app.route({
    method: ['GET', 'POST', 'DELETE'],
    url: '/webhook_subscriptions',
    handler: (request, reply) => run(request, reply, (r, info) => handlers.webhookSubscriptions(r, info)),
  });
  app.get('/oauth/authorize', (request, reply) =>
    run(request, reply, (r, info) => handlers.oauthAuthorize(r, info)),
  );
  app.post('/oauth/access_token', (request, reply) =>
    run(request, reply, (r, info) => handlers.oauthToken(r, info)),
  );

  registerControlRoutes(app, control);
  if (afterWrite) {
    app.addHook('onResponse', async (request) => {
      if (request.method !== 'GET') afterWrite();
    });
  }

  app.setNotFoundHandler(async (request, reply) => {
    reply.code(404);
    return { errorCode: 404, message: NOT_FOUND_MESSAGE, path: pathOf(request.url) };
  });

  app.setErrorHandler(async (error, request, reply) => {
    const response = errorResponse(pathOf(request.url), error);
    reply.code(response.status);
    if (response.headers) reply.headers(response.headers);
    return response.body;
  });

  return {
    app,
    dispose: () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
