/**
 * The one authorisation of the API: the admin token (ADMIN_TOKEN, see client/admin-token.ts) as
 * `Authorization: Bearer <token>`, or a signed browser session cookie set by `POST /login`.
 *
 * The check is bound to the routes, not to URL prefixes: `protectedRoutes(auth, …, register)` is an
 * encapsulated Fastify plugin whose `onRequest` hook runs for exactly the routes registered inside it, so
 * whatever spelling of a URL reaches one of those routes (percent-encoded letters, absolute-form targets…)
 * meets the check, and no spelling of another URL does.
 *
 * Browser sessions: accepted on GET/HEAD (`cookie: 'read-only'`, the default for admin routes) and on
 * routes marked cookie-safe (`'always'`: pure transforms such as the payload codec); never for changes,
 * which need the header (docs/decisions.md: a same-site page on another port could post with the cookie).
 * Every secret the server signs (sessions, connect links, OAuth state) is keyed from the admin token, so
 * changing ADMIN_TOKEN also ends every session and link.
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './http-errors';

/** Where a browser session cookie is accepted on a group of routes. */
export type CookiePolicy = 'never' | 'read-only' | 'always';

export interface ProtectedRoute {
  method: string;
  url: string;
  cookie: CookiePolicy;
}

export interface AdminAuthOptions {
  token: string;
  /** `Secure` cookies: the API is reached over HTTPS (PUBLIC_BASE_URL). */
  secureCookies: boolean;
  /** How long a browser session lasts (default 12 hours). */
  sessionTtlMs?: number;
  now?: () => number;
}

export const SESSION_COOKIE = 'sm8qbo_session';
const DEFAULT_SESSION_TTL_MS = 12 * 3_600_000;
const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** Cookies of a request (`name=value; …`); the first of a repeated name wins. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}

export class AdminAuth {
  /** Every route registered under protectedRoutes, with its cookie policy (for tests and audits). */
  readonly routes: ProtectedRoute[] = [];
  private readonly keys = new Map<string, Buffer>();

  constructor(private readonly opts: AdminAuthOptions) {
    if (!opts.token) throw new Error('the admin API needs a token: resolve it first (client/admin-token.ts)');
  }

  now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private key(purpose: string): Buffer {
    let key = this.keys.get(purpose);
    if (!key) {
      key = crypto.createHmac('sha256', this.opts.token).update(`sm8qbo/${purpose}`).digest();
      this.keys.set(purpose, key);
    }
    return key;
  }

  /** HMAC-SHA256 of `data` under a key of its own purpose, base64url. */
  sign(purpose: string, data: string): string {
    return crypto.createHmac('sha256', this.key(purpose)).update(data).digest('base64url');
  }

  /** Constant-time check of a signature made by `sign`. */
  verify(purpose: string, data: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(purpose, data));
    const given = Buffer.from(signature);
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  }

  /** Constant-time comparison with the admin token (both sides hashed first: no length leaks either). */
  tokenMatches(given: string): boolean {
    const a = crypto.createHmac('sha256', this.key('compare')).update(given).digest();
    const b = crypto.createHmac('sha256', this.key('compare')).update(this.opts.token).digest();
    return crypto.timingSafeEqual(a, b);
  }

  /** A Set-Cookie value: HttpOnly, SameSite=Lax, Secure over HTTPS. */
  cookie(name: string, value: string, opts: { path: string; maxAgeSeconds: number }): string {
    return [
      `${name}=${value}`,
      `Path=${opts.path}`,
      `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`,
      'HttpOnly',
      'SameSite=Lax',
      ...(this.opts.secureCookies ? ['Secure'] : []),
    ].join('; ');
  }

  /** The session cookie of a successful sign-in, and when it ends. */
  newSession(): { cookie: string; expiresAt: Date } {
    const ttl = this.opts.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    const expires = this.now() + ttl;
    const value = `v1.${expires}.${this.sign('session', `v1.${expires}`)}`;
    return {
      cookie: this.cookie(SESSION_COOKIE, value, { path: '/', maxAgeSeconds: ttl / 1000 }),
      expiresAt: new Date(expires),
    };
  }

  clearSessionCookie(): string {
    return this.cookie(SESSION_COOKIE, '', { path: '/', maxAgeSeconds: 0 });
  }

  hasSession(req: FastifyRequest): boolean {
    const value = parseCookies(req.headers.cookie).get(SESSION_COOKIE) ?? '';
    const m = /^v1\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return false;
    const expires = Number(m[1]);
    return expires > this.now() && this.verify('session', `v1.${m[1]}`, m[2] as string);
  }

  /** Throws a 401/403 HttpError unless the request carries the token (or a session the policy accepts). */
  check(req: FastifyRequest, policy: CookiePolicy): void {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer +(\S+) *$/i.exec(header);
      if (m && this.tokenMatches(m[1] as string)) return;
      throw new HttpError(401, 'the admin token is not valid: send Authorization: Bearer <ADMIN_TOKEN>');
    }
    if (this.hasSession(req)) {
      if (policy === 'always' || (policy === 'read-only' && SAFE_METHODS.has(req.method))) return;
      throw new HttpError(
        403,
        'a browser session can only read: changes need the header Authorization: Bearer <ADMIN_TOKEN>',
      );
    }
    throw new HttpError(
      401,
      'admin token required: send Authorization: Bearer <ADMIN_TOKEN> (a browser can sign in at /login)',
    );
  }
}

/**
 * A plugin whose routes (registered by `register`) all need the admin token, e.g.
 * `void app.register(protectedRoutes(auth, { cookie: 'always' }, (scope) => registerCodecRoutes(scope, deps)))`.
 * The check runs in `onRequest`, before the body is read or validated: a stranger learns nothing about inputs.
 */
export function protectedRoutes(
  auth: AdminAuth,
  opts: { cookie: CookiePolicy },
  register: (scope: FastifyInstance) => void | Promise<void>,
): FastifyPluginAsync {
  return async (scope) => {
    scope.addHook('onRoute', (route) => {
      for (const method of [route.method].flat())
        auth.routes.push({ method: String(method), url: route.url ?? route.path, cookie: opts.cookie });
    });
    scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        auth.check(req, opts.cookie);
      } catch (err) {
        if ((err as HttpError).statusCode === 401)
          void reply.header('WWW-Authenticate', 'Bearer realm="sm8qbo"');
        throw err;
      }
    });
    await register(scope);
  };
}

// ---- browser sign-in ----------------------------------------------------------------------------------

/** Pages that load nothing, run nothing and cannot be framed. */
function sendPage(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .code(status)
    .header(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    )
    .header('X-Frame-Options', 'DENY')
    .header('Cache-Control', 'no-store')
    .header('Referrer-Policy', 'no-referrer')
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
        '<style>body{font:16px system-ui,sans-serif;max-width:32em;margin:4em auto}input{font:inherit}</style>' +
        `</head><body><h1>${title}</h1>${body}</body></html>`,
    );
}

const LOGIN_FORM =
  '<form method="post" action="/login"><p><label>Admin token<br>' +
  '<input type="password" name="token" autocomplete="current-password" size="40" required autofocus></label></p>' +
  '<p><button type="submit">Sign in</button></p></form>' +
  '<p>The token is ADMIN_TOKEN, or the one in DATA_DIR/admin.token.</p>';

/** GET /login (a form), POST /login (sets the session cookie), POST /logout (clears it). */
export function registerLoginRoutes(app: FastifyInstance, auth: AdminAuth): void {
  void app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );
    scope.get('/login', async (_req, reply) => sendPage(reply, 200, 'Sign in to sm8-qbo-sync', LOGIN_FORM));
    const loginBody = {
      type: 'object',
      required: ['token'],
      properties: { token: { type: 'string', minLength: 1, maxLength: 1000 } },
    } as const;
    scope.post('/login', { bodyLimit: 4096, schema: { body: loginBody } }, async (req, reply) => {
      const { token } = req.body as { token: string };
      if (!auth.tokenMatches(token.trim()))
        return sendPage(reply, 401, 'Not signed in', `<p>That is not the admin token.</p>${LOGIN_FORM}`);
      const session = auth.newSession();
      void reply.header('Set-Cookie', session.cookie);
      return sendPage(
        reply,
        200,
        'Signed in',
        `<p>This browser may read the admin API until ${session.expiresAt.toISOString()}.</p>` +
          '<p><a href="/">Open the sync status page</a></p>' +
          '<form method="post" action="/logout"><button type="submit">Sign out</button></form>',
      );
    });
    scope.post('/logout', { bodyLimit: 4096 }, async (_req, reply) => {
      void reply.header('Set-Cookie', auth.clearSessionCookie());
      return sendPage(reply, 200, 'Signed out', '<p><a href="/login">Sign in again</a></p>');
    });
  });
}
