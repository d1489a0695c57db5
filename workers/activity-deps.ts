/** Builds the activities' dependencies from configuration: one set per worker process. */
import { Context } from '@temporalio/activity';
import axios from 'axios';
import type { Pool } from 'pg';
import type { ActivityDeps } from '../activities';
import { ConnectionStore } from '../store/connections';
import { LinkStore } from '../store/links';
import type { Governor } from '../apis/governor/governor';
import { RateGovernor } from '../apis/governor/rate-governor';
import { scaledLimits } from '../apis/governor/policy';
import { QboTokenManager, configureIntuitOAuth, type QboOAuthSettings } from '../apis/quickbooks/tokens';
import { Sm8AuthProvider } from '../apis/servicem8/auth';
import type { ApiDeps } from '../client/api-server';
import type { LazyTemporal } from '../client/temporal-client';
import { OnboardingStore } from '../store/onboarding';
import { startOnboardingWhenComplete } from '../client/onboarding';
import { scheduleOptionsFromConfig, startConnectionPolling } from '../client/schedules';
import { ensureServiceM8Subscriptions } from '../client/webhook-subscriptions';
import type { Config } from '../infra/config';
import { payloadCodecFrom } from '../infra/payload-codec';
import { createLogger } from '../infra/log';
import { SecretBox } from '../infra/secrets';

/** The activity's cancellation signal, so a cancelled or timed-out activity aborts its HTTP call. */
function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // not inside an activity (CLI, tests)
  }
}

export function qboOAuthSettings(config: Config): QboOAuthSettings {
  return {
    clientId: config.qbo.clientId ?? '',
    clientSecret: config.qbo.clientSecret ?? '',
    environment: config.qbo.environment,
    redirectUri: `${config.publicBaseUrl}/callback/quickbooks`,
    authorizeUrl: config.qbo.authorizeUrl,
    tokenUrl: config.qbo.tokenUrl,
    revokeUrl: config.qbo.revokeUrl,
  };
}

export function buildActivityDeps(config: Config, pool: Pool, governor: Governor): ActivityDeps {
  const box = SecretBox.fromConfig(config);
  const store = new ConnectionStore(pool, box);
  const oauth = qboOAuthSettings(config);
  configureIntuitOAuth(oauth);
  const qboTokens = new QboTokenManager(pool, store, oauth);
  const sm8Auth = new Sm8AuthProvider(pool, store, {
    clientId: config.sm8.clientId,
    clientSecret: config.sm8.clientSecret,
    tokenUrl: config.sm8.tokenUrl,
  });
  return {
    pool,
    store,
    links: new LinkStore(pool),
    governor,
    qboTokens,
    sm8Auth,
    qboClientDeps: () => ({
      apiBaseUrl: config.qbo.apiBaseUrl,
      tokens: qboTokens,
      governor,
      signal: activitySignal(),
      rateLimitWaitMs: config.rateLimitWaitMs,
    }),
    sm8ClientDeps: () => ({
      apiBaseUrl: config.sm8.apiBaseUrl,
      auth: sm8Auth,
      governor,
      signal: activitySignal(),
      rateLimitWaitMs: config.rateLimitWaitMs,
    }),
  };
}

/**
 * The per-connection rate governor shared by all workers (PostgreSQL-backed, docs/rate-governor.md).
 * An activity waits for its permit as long as that takes, heartbeating, in its lane's order: waiting for
 * budget is not a failure (issue 12).
 */
export function createGovernor(pool: Pool, limitScale = 1): RateGovernor {
  return new RateGovernor(pool, limitScale === 1 ? {} : { limits: scaledLimits(limitScale) });
}

/**
 * The HTTP API's dependencies (connect flows share the activities' store and OAuth settings). Webhooks
 * signal workflows on `taskQueue` (default TEMPORAL_TASK_QUEUE; tests pass their own).
 */
export function buildApiDeps(
  config: Config,
  deps: ActivityDeps,
  temporal: LazyTemporal,
  taskQueue: string = config.temporal.taskQueue,
  opts: { schedules?: boolean; onboarding?: boolean } = {},
): ApiDeps {
  return {
    pool: deps.pool,
    temporal,
    log: createLogger(config.logLevel, 'api'),
    codec: {
      codec: payloadCodecFrom(config),
      uiOrigin: config.temporal.uiOrigin,
      namespace: config.temporal.namespace,
    },
    admin: {
      adminToken: config.adminToken,
      pool: deps.pool,
      store: deps.store,
      links: deps.links,
      temporal,
      taskQueue,
    },
    webhooks: {
      pool: deps.pool,
      temporal,
      links: deps.links,
      store: deps.store,
      taskQueue,
      qboVerifier: config.qbo.webhookVerifier,
      log: createLogger(config.logLevel, 'webhooks'),
    },
    connect: {
      config,
      pool: deps.pool,
      store: deps.store,
      temporal,
      qboOAuth: qboOAuthSettings(config),
      async verifySm8ApiKey(apiKey) {
        const res = await axios.get<Array<{ name?: string }>>(
          `${config.sm8.apiBaseUrl}/api_1.0/vendor.json`,
          {
            headers: { 'X-Api-Key': apiKey, Accept: 'application/json' },
            timeout: 30_000,
          },
        );
        return res.data[0]?.name ?? null;
      },
      ...(opts.schedules === false
        ? {}
        : {
            // TRG-2: the schedules, and a first pass at once (adaptive polling).
            ensureSchedules: async (connectionId: string) =>
              startConnectionPolling(await temporal.get(), [connectionId], {
                ...scheduleOptionsFromConfig(config),
                taskQueue,
              }),
          }),
      ...(opts.onboarding === false
        ? {}
        : {
            startOnboarding: async (connectionId: string) =>
              startOnboardingWhenComplete(
                {
                  temporal: await temporal.get(),
                  store: deps.store,
                  onboarding: new OnboardingStore(deps.pool),
                  taskQueue,
                },
                connectionId,
              ),
          }),
      subscribeSm8Webhooks: (connectionId) =>
        ensureServiceM8Subscriptions(
          { store: deps.store, publicBaseUrl: config.publicBaseUrl, sm8ClientDeps: deps.sm8ClientDeps },
          connectionId,
        ),
    },
  };
}
