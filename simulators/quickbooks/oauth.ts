import { randomBytes } from 'node:crypto';
import { type SimClock } from './clock';
import { type ResolvedOptions } from './config';
import { type Json } from './types';

/**
 * Intuit's OAuth 2.0 server, as seen by intuit-oauth (docs/quickbooks-api.md §1): auto-consenting authorize
 * endpoint, token endpoint (authorization_code, refresh_token), revoke, userinfo. One *grant* is one
 * connection of an app to a realm; it owns the current refresh token value, the superseded values and its
 * access tokens.
 */

export const REFRESH_EXPIRES_IN_SECONDS = 8_726_400;
const REFRESH_IDLE_LIMIT_MS = 100 * 24 * 3600 * 1000;
const REFRESH_HARD_LIMIT_MS = 5 * 365 * 24 * 3600 * 1000;
const ROTATION_PERIOD_MS = 24 * 3600 * 1000;
const CODE_TTL_MS = 10 * 60 * 1000;
export const ACCOUNTING_SCOPE = 'com.intuit.quickbooks.accounting';

interface AuthCode {
  clientId: string;
  redirectUri: string;
  realmId: string;
  scopes: string[];
  expiresMs: number;
  used: boolean;
  grantId?: string;
}

interface RefreshValue {
  value: string;
  issuedMs: number;
  supersededMs?: number;
}

interface Grant {
  id: string;
  clientId: string;
  realmId: string;
  scopes: string[];
  createdMs: number;
  lastUsedMs: number;
  revoked: boolean;
  refresh: RefreshValue;
  superseded: RefreshValue[];
}

interface AccessToken {
  grantId: string;
  expiresMs: number;
}

export interface HttpAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Authentication =
  | { ok: true; realmId: string; clientId: string }
  | { ok: false; status: 401; detail: string }
  | { ok: false; status: 403 };

export interface OAuthSnapshot {
  grants: Grant[];
  accessTokens: Array<[string, AccessToken]>;
}

function randomToken(prefix: string, bytes: number): string {
  return prefix + randomBytes(bytes).toString('base64url');
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

const invalidGrant = (description: string): HttpAnswer => ({
  status: 400,
  body: { error: 'invalid_grant', error_description: description },
});

export class OAuthServer {
  private readonly codes = new Map<string, AuthCode>();
  private grants = new Map<string, Grant>();
  private refreshIndex = new Map<string, string>();
  private accessTokens = new Map<string, AccessToken>();
  readonly refreshesByRealm = new Map<string, number>();
  readonly invalidGrantsByRealm = new Map<string, number>();
  invalidGrants = 0;
  tokensIssued = 0;

  constructor(
    private readonly clock: SimClock,
    private readonly options: () => ResolvedOptions,
    private readonly realmExists: (realmId: string) => boolean,
  ) {}

  // ------------------------------------------------------------------ authorize

  /** GET /connect/oauth2: no login page, the user "consents" at once (docs/quickbooks-api.md §1.1). */
  authorize(query: Record<string, string | undefined>): HttpAnswer {
    const options = this.options();
    if (query.client_id !== options.clientId)
      return { status: 400, body: { error: 'invalid_client', error_description: 'Unknown client_id' } };
    const redirectUri = query.redirect_uri;
    if (!redirectUri)
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: 'redirect_uri is required' },
      };
    if (query.response_type !== 'code')
      return this.redirect(redirectUri, { error: 'unsupported_response_type', state: query.state });
    const scopes = (query.scope ?? '').split(/\s+/).filter(Boolean);
    if (scopes.length === 0)
      return this.redirect(redirectUri, { error: 'invalid_scope', state: query.state });
    // Sim extension: `realmId` picks which simulated company the user "selects" on the consent screen.
    const realmId = query.realmId ?? options.realmId;
    if (!this.realmExists(realmId))
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: `Unknown company ${realmId}` },
      };
    const code = randomToken('AB11', 30);
    this.codes.set(code, {
      clientId: options.clientId,
      redirectUri,
      realmId,
      scopes,
      expiresMs: this.clock.nowMs() + CODE_TTL_MS,
      used: false,
    });
    return this.redirect(redirectUri, { code, state: query.state, realmId });
  }

  private redirect(redirectUri: string, params: Record<string, string | undefined>): HttpAnswer {
    const url = new URL(redirectUri);
    for (const [key, value] of Object.entries(params))
      if (value !== undefined) url.searchParams.set(key, value);
    return { status: 302, headers: { location: url.toString() } };
  }

  // ------------------------------------------------------------------ token endpoint

  /** POST /oauth2/v1/tokens/bearer */
  token(
    authorization: string | undefined,
    form: Record<string, string>,
    headers: Record<string, string | undefined>,
  ): HttpAnswer {
    const clientId = this.client(authorization);
    if (clientId === undefined) return { status: 401, body: { error: 'invalid_client' } };
    const hardExpiry = headers['x-include-refresh-token-hard-expires-in'] === 'true';
    if (form.grant_type === 'authorization_code') return this.exchangeCode(clientId, form, hardExpiry);
    if (form.grant_type === 'refresh_token') return this.refresh(clientId, form.refresh_token, hardExpiry);
    return { status: 400, body: { error: 'unsupported_grant_type' } };
  }

  private exchangeCode(clientId: string, form: Record<string, string>, hardExpiry: boolean): HttpAnswer {
    const code = form.code === undefined ? undefined : this.codes.get(form.code);
    if (!code || code.clientId !== clientId) return this.fail(undefined, 'Invalid authorization code');
    if (code.used) {
      // Intuit treats a replayed code as possible fraud and revokes what it issued (oauth-jsclient#173).
      if (code.grantId !== undefined) this.revokeGrant(code.grantId);
      return this.fail(code.realmId, 'Authorization code has already been used');
    }
    code.used = true;
    if (code.expiresMs < this.clock.nowMs()) return this.fail(code.realmId, 'Authorization code has expired');
    if (form.redirect_uri !== code.redirectUri) return this.fail(code.realmId, 'redirect_uri does not match');
    const now = this.clock.nowMs();
    const grant: Grant = {
      id: randomToken('g', 9),
      clientId,
      realmId: code.realmId,
      scopes: code.scopes,
      createdMs: now,
      lastUsedMs: now,
      revoked: false,
      refresh: { value: randomToken('AB11', 34), issuedMs: now },
      superseded: [],
    };
    code.grantId = grant.id;
    this.grants.set(grant.id, grant);
    this.refreshIndex.set(grant.refresh.value, grant.id);
    return this.issue(grant, hardExpiry);
  }

  private refresh(clientId: string, value: string | undefined, hardExpiry: boolean): HttpAnswer {
    const grantId = value === undefined ? undefined : this.refreshIndex.get(value);
    const grant = grantId === undefined ? undefined : this.grants.get(grantId);
    if (!grant || grant.clientId !== clientId) return this.fail(undefined, 'Invalid refresh token');
    if (grant.revoked) return this.fail(grant.realmId, 'Token has been expired or revoked.');
    const options = this.options();
    const now = this.clock.nowMs();
    if (now - grant.lastUsedMs > REFRESH_IDLE_LIMIT_MS || now - grant.createdMs > REFRESH_HARD_LIMIT_MS) {
      return this.fail(grant.realmId, 'Token has been expired or revoked.');
    }
    if (value !== grant.refresh.value) {
      const old = grant.superseded.find((entry) => entry.value === value);
      const graceMs = options.refreshTokenGraceSeconds * 1000;
      if (!old || now - (old.supersededMs ?? 0) > graceMs)
        return this.fail(grant.realmId, 'Token has been expired or revoked.');
    }
    // 'daily': the value changes only once it is 24 h old; within the window the same value comes back
    // (docs/quickbooks-api.md §1.2).
    const rotate =
      options.refreshTokenRotation === 'every-refresh' || now - grant.refresh.issuedMs >= ROTATION_PERIOD_MS;
    if (rotate) {
      grant.superseded.push({ ...grant.refresh, supersededMs: now });
      grant.refresh = { value: randomToken('AB11', 34), issuedMs: now };
      this.refreshIndex.set(grant.refresh.value, grant.id);
    }
    grant.lastUsedMs = now;
    this.refreshesByRealm.set(grant.realmId, (this.refreshesByRealm.get(grant.realmId) ?? 0) + 1);
    return this.issue(grant, hardExpiry);
  }

  private issue(grant: Grant, hardExpiry: boolean): HttpAnswer {
    const options = this.options();
    const now = this.clock.nowMs();
    const accessToken = randomToken('eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.', 96);
    this.accessTokens.set(accessToken, {
      grantId: grant.id,
      expiresMs: now + options.accessTokenTtlSeconds * 1000,
    });
    this.tokensIssued++;
    const body: Json = {
      token_type: 'bearer',
      access_token: accessToken,
      expires_in: options.accessTokenTtlSeconds,
      refresh_token: grant.refresh.value,
      x_refresh_token_expires_in: REFRESH_EXPIRES_IN_SECONDS,
    };
    if (hardExpiry)
      body.x_refresh_token_hard_expires_in = Math.floor(
        (grant.createdMs + REFRESH_HARD_LIMIT_MS - now) / 1000,
      );
    if (grant.scopes.includes('openid')) body.id_token = this.idToken(grant, now);
    return { status: 200, body, headers: { 'cache-control': 'no-store' } };
  }

  /** An unsigned-looking JWT with Intuit's claims; signature verification against JWKS is not simulated. */
  private idToken(grant: Grant, now: number): string {
    const header = base64url({ alg: 'RS256', kid: 'qbo-sim' });
    const payload = base64url({
      iss: 'https://oauth.platform.intuit.com/op/v1',
      aud: [grant.clientId],
      sub: `sim-user-${grant.realmId}`,
      realmid: grant.realmId,
      auth_time: Math.floor(grant.createdMs / 1000),
      iat: Math.floor(now / 1000),
      exp: Math.floor(now / 1000) + 3600,
    });
    return `${header}.${payload}.${randomBytes(32).toString('base64url')}`;
  }

  private fail(realmId: string | undefined, description: string): HttpAnswer {
    this.invalidGrants++;
    if (realmId !== undefined)
      this.invalidGrantsByRealm.set(realmId, (this.invalidGrantsByRealm.get(realmId) ?? 0) + 1);
    return invalidGrant(description);
  }

  private client(authorization: string | undefined): string | undefined {
    const match = /^Basic\s+(.+)$/i.exec(authorization ?? '');
    if (!match?.[1]) return undefined;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    const options = this.options();
    const id = decoded.slice(0, separator);
    return separator > 0 && id === options.clientId && decoded.slice(separator + 1) === options.clientSecret
      ? id
      : undefined;
  }

  // ------------------------------------------------------------------ revoke, userinfo

  /** POST /v2/oauth2/tokens/revoke with {token} (JSON from intuit-oauth, form from node-quickbooks). */
  revoke(authorization: string | undefined, body: Record<string, unknown>): HttpAnswer {
    if (this.client(authorization) === undefined) return { status: 401, body: { error: 'invalid_client' } };
    const token = typeof body.token === 'string' ? body.token : undefined;
    if (token === undefined) return { status: 400, body: { error: 'invalid_request' } };
    const grantId = this.refreshIndex.get(token) ?? this.accessTokens.get(token)?.grantId;
    if (grantId !== undefined) this.revokeGrant(grantId);
    return { status: 200 };
  }

  userInfo(authorization: string | undefined): HttpAnswer {
    const token = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1];
    const access = token === undefined ? undefined : this.accessTokens.get(token);
    const grant = access === undefined ? undefined : this.grants.get(access.grantId);
    if (!access || !grant || grant.revoked || access.expiresMs <= this.clock.nowMs())
      return { status: 401, body: { error: 'invalid_token' } };
    return {
      status: 200,
      body: {
        sub: `sim-user-${grant.realmId}`,
        email: 'owner@harboursideelectrical.com.au',
        emailVerified: true,
        givenName: 'Sam',
        familyName: 'Harbour',
      },
    };
  }

  // ------------------------------------------------------------------ API authentication

  authenticate(authorization: string | undefined, realmId: string): Authentication {
    const token = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
    if (token === undefined || token === '')
      return { ok: false, status: 401, detail: 'Authorization header is missing or malformed.' };
    const access = this.accessTokens.get(token);
    const grant = access === undefined ? undefined : this.grants.get(access.grantId);
    if (!access || !grant)
      return { ok: false, status: 401, detail: `Token invalid: ${token.slice(0, 12)}...` };
    if (grant.revoked) return { ok: false, status: 401, detail: `Token revoked: ${token.slice(0, 12)}...` };
    if (access.expiresMs <= this.clock.nowMs())
      return { ok: false, status: 401, detail: `Token expired: ${token.slice(0, 12)}...` };
    if (grant.realmId !== realmId) return { ok: false, status: 403 };
    return { ok: true, realmId: grant.realmId, clientId: grant.clientId };
  }

  /** The user disconnects the app in QBO: every grant of the realm dies. */
  revokeRealm(realmId: string): number {
    let count = 0;
    for (const grant of this.grants.values()) {
      if (grant.realmId === realmId && !grant.revoked) {
        grant.revoked = true;
        count++;
      }
    }
    return count;
  }

  private revokeGrant(grantId: string): void {
    const grant = this.grants.get(grantId);
    if (grant) grant.revoked = true;
  }

  /** Tokens for tests that do not care about the consent flow. */
  issueDirect(
    realmId: string,
    scopes: string[] = [ACCOUNTING_SCOPE],
  ): { access_token: string; refresh_token: string; realmId: string } {
    const now = this.clock.nowMs();
    const grant: Grant = {
      id: randomToken('g', 9),
      clientId: this.options().clientId,
      realmId,
      scopes,
      createdMs: now,
      lastUsedMs: now,
      revoked: false,
      refresh: { value: randomToken('AB11', 34), issuedMs: now },
      superseded: [],
    };
    this.grants.set(grant.id, grant);
    this.refreshIndex.set(grant.refresh.value, grant.id);
    const answer = this.issue(grant, false).body as Json;
    return {
      access_token: String(answer.access_token),
      refresh_token: String(answer.refresh_token),
      realmId,
    };
  }

  reset(): void {
    this.codes.clear();
    this.grants.clear();
    this.refreshIndex.clear();
    this.accessTokens.clear();
    this.refreshesByRealm.clear();
    this.invalidGrantsByRealm.clear();
    this.invalidGrants = 0;
    this.tokensIssued = 0;
  }

  snapshot(): OAuthSnapshot {
    return {
      grants: structuredClone([...this.grants.values()]),
      accessTokens: structuredClone([...this.accessTokens]),
    };
  }

  load(snapshot: OAuthSnapshot): void {
    this.grants = new Map(snapshot.grants.map((grant) => [grant.id, structuredClone(grant)]));
    this.refreshIndex = new Map();
    for (const grant of this.grants.values()) {
      this.refreshIndex.set(grant.refresh.value, grant.id);
      for (const old of grant.superseded) this.refreshIndex.set(old.value, grant.id);
    }
    this.accessTokens = new Map(structuredClone(snapshot.accessTokens));
  }
}
