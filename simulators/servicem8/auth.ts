/**
 * Authentication and authorisation: `X-Api-Key` keys (all scopes; optionally a read-only key) and OAuth 2.0
 * authorization-code tokens with scopes, plus the simulator's OAuth endpoints.
 *
 * OAuth behaviour: `/oauth/authorize` consents at once (no login page) and redirects with `code` and
 * `state`; codes live 10 minutes and work once; `/oauth/access_token` takes form-encoded (or JSON) bodies.
 * Refresh tokens are returned unchanged unless `rotateRefreshToken` (UNCONFIRMED upstream); a rotated-out
 * refresh token stops working. Access tokens expire on the sim clock.
 */
import { randomBytes } from 'node:crypto';
import { type SimClock } from './clock';
import { authenticationError, forbiddenError, insufficientScopeError } from './errors';
import { type SimSettings } from './options';
import { knownScopes } from './schemas';

export type AuthKind = 'apiKey' | 'oauth' | 'none';

export interface Principal {
  kind: AuthKind;
  /** Rate-limit bucket: limits apply per application per account. */
  bucket: string;
  /** undefined = every scope (API keys). */
  scopes: ReadonlySet<string> | undefined;
  readOnly: boolean;
}

export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: 'bearer';
  scope: string;
}

/** An OAuth endpoint failure: RFC 6749 style body, e.g. `{"error":"invalid_grant"}`. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
  }

  get body(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  expiresAtMs: number;
}

interface AccessToken {
  clientId: string;
  scopes: string[];
  expiresAtMs: number;
}

interface RefreshToken {
  clientId: string;
  scopes: string[];
}

const CODE_TTL_MS = 10 * 60 * 1000;

export interface AuthSnapshot {
  accessTokens: Array<[string, AccessToken]>;
  refreshTokens: Array<[string, RefreshToken]>;
}

function token(prefix: string): string {
  return `${prefix}${randomBytes(20).toString('hex')}`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function stringParam(params: Record<string, unknown>, name: string): string {
  const value = params[name];
  return typeof value === 'string' ? value : '';
}

export class AuthService {
  private codes = new Map<string, AuthorizationCode>();
  private accessTokens = new Map<string, AccessToken>();
  private refreshTokens = new Map<string, RefreshToken>();

  constructor(
    private readonly settings: () => SimSettings,
    private readonly clock: SimClock,
  ) {}

  /** Identifies the caller from `X-Api-Key` or `Authorization: Bearer`, or throws the documented 401. */
  authenticate(headers: Record<string, string | string[] | undefined>): Principal {
    const settings = this.settings();
    const apiKey = headerValue(headers['x-api-key']);
    if (apiKey !== undefined) {
      if (apiKey === settings.apiKey)
        return { kind: 'apiKey', bucket: 'apikey', scopes: undefined, readOnly: false };
      if (settings.readOnlyApiKey !== undefined && apiKey === settings.readOnlyApiKey) {
        return { kind: 'apiKey', bucket: 'apikey-readonly', scopes: undefined, readOnly: true };
      }
      throw authenticationError();
    }
    const authorization = headerValue(headers.authorization);
    const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    if (match?.[1]) {
      const access = this.accessTokens.get(match[1]);
      if (access && access.expiresAtMs > this.clock.nowMs()) {
        return {
          kind: 'oauth',
          bucket: `oauth:${access.clientId}`,
          scopes: new Set(access.scopes),
          readOnly: false,
        };
      }
    }
    throw authenticationError();
  }

  /** Throws 403 unless the principal holds one of `anyOf` (the first is named in the message). */
  authorize(principal: Principal, anyOf: readonly string[], write: boolean): void {
    if (write && principal.readOnly) throw forbiddenError();
    if (!principal.scopes) return;
    const scopes = principal.scopes;
    if (anyOf.some((scope) => scopes.has(scope))) return;
    throw insufficientScopeError(anyOf[0] ?? 'unknown');
  }

  /**
   * Handles `GET /oauth/authorize`: returns the redirect location (auto-consent). Errors that can be
   * redirected (bad scope, bad response_type) go to the redirect_uri; an unknown client or a missing
   * redirect_uri throws.
   */
  authorizeRedirect(query: Record<string, unknown>): string {
    const settings = this.settings();
    const clientId = stringParam(query, 'client_id');
    const redirectUri = stringParam(query, 'redirect_uri');
    const state = stringParam(query, 'state');
    if (clientId !== settings.oauthClientId) throw new OAuthError(400, 'invalid_client', 'unknown client_id');
    let target: URL;
    try {
      target = new URL(redirectUri);
    } catch {
      throw new OAuthError(400, 'invalid_request', 'redirect_uri must be an absolute URL');
    }
    const redirectWith = (params: Record<string, string>) => {
      for (const [name, value] of Object.entries(params)) target.searchParams.set(name, value);
      if (state !== '') target.searchParams.set('state', state);
      return target.toString();
    };
    if (stringParam(query, 'response_type') !== 'code') {
      return redirectWith({ error: 'unsupported_response_type' });
    }
    const scopes = stringParam(query, 'scope')
      .split(/[\s,]+/)
      .filter((s) => s !== '');
    const known = knownScopes();
    const unknown = scopes.filter((s) => !known.has(s));
    if (scopes.length === 0 || unknown.length > 0) {
      return redirectWith({
        error: 'invalid_scope',
        error_description:
          scopes.length === 0 ? 'scope is required' : `unknown scope(s): ${unknown.join(' ')}`,
      });
    }
    const code = token('code_');
    this.codes.set(code, { clientId, redirectUri, scopes, expiresAtMs: this.clock.nowMs() + CODE_TTL_MS });
    return redirectWith({ code });
  }

  /** Handles `POST /oauth/access_token` for the authorization_code and refresh_token grants. */
  exchange(params: Record<string, unknown>): TokenResponse {
    const settings = this.settings();
    if (
      stringParam(params, 'client_id') !== settings.oauthClientId ||
      stringParam(params, 'client_secret') !== settings.oauthClientSecret
    ) {
      throw new OAuthError(401, 'invalid_client', 'client_id or client_secret is wrong');
    }
    const grantType = stringParam(params, 'grant_type');
    if (grantType === 'authorization_code') {
      const codeValue = stringParam(params, 'code');
      const code = this.codes.get(codeValue);
      // Single use: a code is gone after its first exchange attempt, whatever the outcome.
      this.codes.delete(codeValue);
      if (!code || code.expiresAtMs <= this.clock.nowMs()) {
        throw new OAuthError(400, 'invalid_grant', 'authorization code is invalid, expired or already used');
      }
      const redirectUri = stringParam(params, 'redirect_uri');
      if (redirectUri !== '' && redirectUri !== code.redirectUri) {
        throw new OAuthError(400, 'invalid_grant', 'redirect_uri does not match the authorization request');
      }
      return this.issue(code.clientId, code.scopes);
    }
    if (grantType === 'refresh_token') {
      const refreshValue = stringParam(params, 'refresh_token');
      const refresh = this.refreshTokens.get(refreshValue);
      if (!refresh) throw new OAuthError(400, 'invalid_grant', 'refresh token is invalid or revoked');
      if (settings.rotateRefreshToken) {
        this.refreshTokens.delete(refreshValue);
        return this.issue(refresh.clientId, refresh.scopes);
      }
      return this.issue(refresh.clientId, refresh.scopes, refreshValue);
    }
    throw new OAuthError(400, 'unsupported_grant_type', `grant_type '${grantType}' is not supported`);
  }

  /** Issues a token pair directly (control API), skipping the browser step. */
  issue(clientId: string, scopes: readonly string[], keepRefreshToken?: string): TokenResponse {
    const ttl = this.settings().accessTokenTtlSeconds;
    const accessToken = token('sm8sim_at_');
    this.accessTokens.set(accessToken, {
      clientId,
      scopes: [...scopes],
      expiresAtMs: this.clock.nowMs() + ttl * 1000,
    });
    const refreshToken = keepRefreshToken ?? token('sm8sim_rt_');
    this.refreshTokens.set(refreshToken, { clientId, scopes: [...scopes] });
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      expires_in: ttl,
      token_type: 'bearer',
      scope: scopes.join(' '),
    };
  }

  /** Revokes a refresh token (the next refresh answers invalid_grant), e.g. to test re-authorisation. */
  revokeRefreshToken(refreshToken: string): boolean {
    return this.refreshTokens.delete(refreshToken);
  }

  /** Access and refresh tokens (codes live 10 minutes and are left out), for the state file. */
  snapshot(): AuthSnapshot {
    return {
      accessTokens: structuredClone([...this.accessTokens]),
      refreshTokens: structuredClone([...this.refreshTokens]),
    };
  }

  load(snapshot: AuthSnapshot): void {
    this.codes.clear();
    this.accessTokens = new Map(structuredClone(snapshot.accessTokens));
    this.refreshTokens = new Map(structuredClone(snapshot.refreshTokens));
  }

  /** Makes every access token expire now. */
  expireAccessTokens(): number {
    const now = this.clock.nowMs();
    for (const access of this.accessTokens.values()) access.expiresAtMs = Math.min(access.expiresAtMs, now);
    return this.accessTokens.size;
  }
}
