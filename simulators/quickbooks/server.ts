import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { routeAccounting } from './accounting';
import { endpointKey } from './calls';
import { formatEnvelopeTime } from './clock';
import { type Simulator } from './context';
import { type SimControl, registerControlRoutes } from './control';
import {
  QboFault,
  WWW_AUTHENTICATE,
  applicationAuthorizationFault,
  authenticationFailureBody,
  faults,
  throttleFault,
  throttleXml,
} from './errors';
import { type ActiveFaultRule } from './faults';
import { type HttpAnswer } from './oauth';

/** A request body that was sent as JSON but did not parse. */
class InvalidJson {}

interface RequestState {
  startedAt: number;
  fault?: ActiveFaultRule;
  admittedRealm?: string;
  realmId?: string;
  /** Its slot released and its call logged. */
  finished?: boolean;
}

const state = new WeakMap<FastifyRequest, RequestState>();

function stateOf(request: FastifyRequest): RequestState {
  let value = state.get(request);
  if (!value) {
    value = { startedAt: Date.now() };
    state.set(request, value);
  }
  return value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function stringQuery(query: unknown): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  if (typeof query !== 'object' || query === null) return result;
  for (const [key, value] of Object.entries(query))
    result[key] = Array.isArray(value) ? String(value[0]) : String(value);
  return result;
}

function formBody(body: unknown): Record<string, string> {
  if (typeof body !== 'object' || body === null || body instanceof InvalidJson) return {};
  return Object.fromEntries(Object.entries(body).map(([key, value]) => [key, String(value)]));
}

function sendAnswer(reply: FastifyReply, answer: HttpAnswer): FastifyReply {
  reply.code(answer.status);
  for (const [key, value] of Object.entries(answer.headers ?? {})) reply.header(key, value);
  return answer.body === undefined ? reply.send() : reply.send(answer.body);
}

function installParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'application/cloudevents+json'],
    { parseAs: 'string' },
    (_request, body, done) => {
      const text = String(body);
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch {
        done(null, new InvalidJson());
      }
    },
  );
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    },
  );
  // POST /query sends the statement as application/text; /send sends application/octet-stream or nothing.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, String(body)));
}

/**
 * Applies latency, a hang or a canned answer; true when the request is answered here. (A boolean, not the
 * reply: a FastifyReply is thenable, so an awaited reply resolved to undefined and the faulted request then
 * ran for real as well, its answer's status overwritten in the call log.)
 */
async function applyFault(
  sim: Simulator,
  rule: ActiveFaultRule,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<boolean> {
  if (rule.latencyMs !== undefined && rule.latencyMs > 0) await sleep(rule.latencyMs);
  if (rule.timeout) {
    // Hold the connection without ever answering; it ends when the client gives up or the server stops.
    // With `hangMs`, the socket is destroyed after that long (as ServiceM8's simulator does): a lost answer.
    reply.hijack();
    const socket = request.raw.socket;
    const timer = rule.hangMs !== undefined ? setTimeout(() => socket.destroy(), rule.hangMs) : undefined;
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    clearTimeout(timer);
    return true;
  }
  if (rule.status !== undefined) {
    const body = rule.body ?? { ...faults.system().toJSON(), time: formatEnvelopeTime(sim.clock.nowMs()) };
    void reply.code(rule.status).send(body);
    return true;
  }
  return false;
}

/** Fault injection and the call log apply to every simulated Intuit endpoint, never to /__sim. */
function installHooks(app: FastifyInstance, sim: Simulator): void {
  app.addHook('onRequest', async (request, reply) => {
    const current = stateOf(request);
    if (request.url.startsWith('/__sim')) return;
    const rule = sim.faults.match(request.method, request.url);
    if (!rule) return;
    current.fault = rule;
    // Accounting requests apply latency and status after the throttle admitted them, so slow calls hold a slot.
    if (request.url.startsWith('/v3/') && !rule.timeout) return;
    if (await applyFault(sim, rule, request, reply)) return reply;
  });

  /** Frees the request's concurrency slot and logs it, once (a dropped answer never reaches onResponse). */
  const finish = (request: FastifyRequest, status: number) => {
    const current = stateOf(request);
    if (current.finished) return;
    current.finished = true;
    if (current.admittedRealm !== undefined) sim.throttle.release(current.admittedRealm);
    if (request.url.startsWith('/__sim')) return;
    const call = {
      method: request.method,
      url: request.url,
      endpoint: endpointKey(request.method, request.url),
      status,
      durationMs: Date.now() - current.startedAt,
    };
    sim.calls.record(
      current.realmId === undefined ? call : { ...call, realmId: current.realmId },
      sim.clock.nowMs(),
    );
  };

  app.addHook('onSend', async (request, _reply, payload) => {
    // commitThenDrop: the handler ran (its write is committed) but the client never sees the answer. The
    // socket is destroyed before the response finishes, so onResponse never runs: finish here (status 0).
    if (stateOf(request).fault?.commitThenDrop) {
      finish(request, 0);
      request.raw.socket.destroy();
    }
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => finish(request, reply.statusCode));
}

function registerOAuthRoutes(app: FastifyInstance, sim: Simulator): void {
  app.get('/connect/oauth2', async (request, reply) =>
    sendAnswer(reply, sim.oauth.authorize(stringQuery(request.query))),
  );

  app.post('/oauth2/v1/tokens/bearer', async (request, reply) => {
    const headers = stringQuery(request.headers);
    return sendAnswer(reply, sim.oauth.token(request.headers.authorization, formBody(request.body), headers));
  });

  app.post('/v2/oauth2/tokens/revoke', async (request, reply) =>
    sendAnswer(reply, sim.oauth.revoke(request.headers.authorization, formBody(request.body))),
  );

  app.get('/v1/openid_connect/userinfo', async (request, reply) =>
    sendAnswer(reply, sim.oauth.userInfo(request.headers.authorization)),
  );

  // node-quickbooks' setOauthVersion('2.0') reads the discovery document for its endpoint URLs.
  const discovery = async (request: FastifyRequest) => {
    const base = `${request.protocol}://${request.headers.host ?? ''}`;
    return {
      issuer: 'https://oauth.platform.intuit.com/op/v1',
      authorization_endpoint: `${base}/connect/oauth2`,
      token_endpoint: `${base}/oauth2/v1/tokens/bearer`,
      userinfo_endpoint: `${base}/v1/openid_connect/userinfo`,
      revocation_endpoint: `${base}/v2/oauth2/tokens/revoke`,
      jwks_uri: `${base}/op/v1/jwks`,
      response_types_supported: ['code'],
      scopes_supported: [
        'openid',
        'email',
        'profile',
        'address',
        'phone',
        'com.intuit.quickbooks.accounting',
      ],
    };
  };
  app.get('/.well-known/openid_configuration', discovery);
  app.get('/.well-known/openid_sandbox_configuration', discovery);
}

function registerAccountingRoutes(app: FastifyInstance, sim: Simulator): void {
  const handler = async (
    request: FastifyRequest<{ Params: { realmId: string; '*': string } }>,
    reply: FastifyReply,
  ) => {
    const { realmId } = request.params;
    const path = request.params['*'];
    const current = stateOf(request);
    current.realmId = realmId;
    const nowMs = sim.clock.nowMs();
    const time = formatEnvelopeTime(nowMs);
    reply.header('intuit_tid', randomUUID());

    const auth = sim.oauth.authenticate(request.headers.authorization, realmId);
    if (!auth.ok && auth.status === 401) {
      return reply
        .code(401)
        .header('www-authenticate', WWW_AUTHENTICATE)
        .send(authenticationFailureBody(auth.detail, nowMs));
    }
    const company = sim.store.company(realmId);
    if (!auth.ok || !company)
      return reply.code(403).send({ ...applicationAuthorizationFault().toJSON(), time });

    if (!sim.throttle.admit(realmId, path === 'batch')) {
      if (sim.options.throttle.xmlBody)
        return reply.code(429).type('application/xml').send(throttleXml(time));
      return reply.code(429).send({ ...throttleFault().toJSON(), time });
    }
    current.admittedRealm = realmId;
    if (current.fault && (await applyFault(sim, current.fault, request, reply))) return reply;

    const query = stringQuery(request.query);
    const requestId = request.method === 'POST' ? query.requestid : undefined;
    if (requestId !== undefined) {
      const first = company.requestIds.get(requestId);
      if (first) {
        if (sim.options.requestIdMode === 'fault600') {
          return reply.code(400).send({ ...faults.duplicateRequestId(requestId).toJSON(), time });
        }
        return reply.code(first.status).send(first.body);
      }
    }

    let status: number;
    let body: unknown;
    let contentType: string | undefined;
    try {
      if (request.body instanceof InvalidJson) throw faults.invalidBody();
      const result = routeAccounting(sim, company, {
        method: request.method,
        path,
        query,
        body: request.body,
      });
      status = result.status;
      contentType = result.contentType;
      body = Buffer.isBuffer(result.body) ? result.body : { ...(result.body as object), time };
      if (result.metered) sim.calls.meter(realmId);
    } catch (error) {
      const fault = error instanceof QboFault ? error : faults.system();
      if (!(error instanceof QboFault)) request.log.error(error);
      status = fault.status;
      body = { ...fault.toJSON(), time };
    }
    if (requestId !== undefined) company.requestIds.set(requestId, { status, body: structuredClone(body) });
    if (contentType !== undefined) reply.type(contentType);
    return reply.code(status).send(body);
  };
  app.route({ method: ['GET', 'POST'], url: '/v3/company/:realmId/*', handler });
}

/** `afterWrite` runs after every request that is not a GET (the state file's cue to save). */
export async function buildServer(
  sim: Simulator,
  control: SimControl,
  afterWrite?: () => void,
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: sim.options.logger,
    bodyLimit: 20 * 1024 * 1024,
    forceCloseConnections: true,
  });
  installParsers(app);
  installHooks(app, sim);
  if (afterWrite) {
    app.addHook('onResponse', async (request) => {
      if (request.method !== 'GET') afterWrite();
    });
  }
  registerOAuthRoutes(app, sim);
  registerAccountingRoutes(app, sim);
  registerControlRoutes(app, control);
  await app.ready();
  return app;
}
