/**
 * What every connect flow (CON-1) shares: its dependencies, what happens after a side is (re)connected, and
 * how an upstream failure is described (status for the person, body for the log).
 */
import { isAxiosError } from 'axios';
import type { Pool } from 'pg';
import type { ConnectionStore } from '../store/connections';
import type { QboOAuthSettings } from '../apis/quickbooks/tokens';
import type { Config } from '../infra/config';
import type { Logger } from '../infra/log';
import { notifyConnectionRestored } from '../routing/connection-events';
import type { LazyTemporal } from './temporal-client';
import type { Sm8SubscriptionResult } from './webhook-subscriptions';

export interface ConnectDeps {
  config: Config;
  pool: Pool;
  store: ConnectionStore;
  temporal: LazyTemporal;
  qboOAuth: QboOAuthSettings;
  /** Checks a ServiceM8 API key before it is stored; resolves to the account name. */
  verifySm8ApiKey(apiKey: string): Promise<string | null>;
  /** TRG-3: registers the ServiceM8 webhook subscriptions (client/webhook-subscriptions.ts). */
  subscribeSm8Webhooks?(connectionId: string): Promise<Sm8SubscriptionResult>;
  /** TRG-2: the connection's poll, tax-poll and reconcile schedules (idempotent). */
  ensureSchedules?(connectionId: string): Promise<unknown>;
  /** CM-1: starts the first onboarding once both sides are connected (client/onboarding.ts; idempotent). */
  startOnboarding?(connectionId: string): Promise<unknown>;
}

export type Log = Pick<Logger, 'warn' | 'error'>;

/**
 * After (re)connecting: start the first onboarding (before the schedules' first poll pass, which must find
 * it under way), make sure the schedules exist, then wake the connection's parked workflows (CON-3).
 */
export async function afterConnect(deps: ConnectDeps, connectionId: string): Promise<number> {
  await deps.startOnboarding?.(connectionId);
  await deps.ensureSchedules?.(connectionId);
  return notifyConnectionRestored(await deps.temporal.get(), connectionId);
}

/** The HTTP status of an upstream failure, if it got that far (axios, intuit-oauth, our API clients). */
export function upstreamStatus(err: unknown): number | undefined {
  if (isAxiosError(err)) return err.response?.status;
  const e = err as {
    authResponse?: { response?: { status?: number } };
    details?: Array<{ status?: number | null } | undefined>;
  } | null;
  return e?.authResponse?.response?.status ?? e?.details?.[0]?.status ?? undefined;
}

/** An upstream failure for the log: the answer's body when there is one (it never goes to the client). */
export function upstreamDetail(err: unknown): string {
  const body = isAxiosError(err)
    ? err.response?.data
    : (err as { authResponse?: { body?: unknown } } | null)?.authResponse?.body;
  const text = body !== undefined && body !== '' ? JSON.stringify(body) : (err as Error)?.message;
  return (text ?? String(err)).replace(/(\/webhooks\/servicem8\/)[A-Za-z0-9_-]+/g, '$1…').slice(0, 2000);
}
