/**
 * A whole product in one test process: both API simulators, the sync worker (real Temporal, real
 * PostgreSQL) and the HTTP API, with connections made through the real connect flows.
 */
import crypto from 'node:crypto';
import axios from 'axios';
import type { FastifyInstance } from 'fastify';
import { buildApiServer } from '../../client/api-server';
import { LazyTemporal } from '../../client/temporal-client';
import {
  startQuickBooksSimulator,
  type QuickBooksSimulatorOptions,
  type RunningQuickBooksSimulator,
} from '../../simulators/quickbooks';
import {
  DEFAULT_API_KEY,
  startServiceM8Simulator,
  type RunningServiceM8Simulator,
  type ServiceM8SimulatorOptions,
} from '../../simulators/servicem8';
import { buildApiDeps } from '../../workers/activity-deps';
import { openConnectLink, requestConnectLink, simulatorProductEnv } from '../../workers/demo';
import { freePort } from '../setup/global-setup';
import { createHarness, type GovernorLimits, type Harness } from './env';

export interface World {
  qbo: RunningQuickBooksSimulator;
  sm8: RunningServiceM8Simulator;
  h: Harness;
  api: FastifyInstance;
  apiUrl: string;
  /** The configuration overrides pointing the product at the simulators (for a second worker). */
  env: Record<string, string>;
  /** The API's admin token (ADMIN_TOKEN of `env`). */
  adminToken: string;
  /**
   * Connects QuickBooks (OAuth through intuit-oauth and the simulator) and ServiceM8 (API key). A new
   * connection gets its own simulated QuickBooks company unless `realmId` is given; a reconnect keeps its own.
   */
  connect(connectionId: string, opts?: { realmId?: string; sm8?: boolean }): Promise<{ realmId: string }>;
  close(): Promise<void>;
}

const newRealmId = () => `9341${String(crypto.randomInt(0, 1e12)).padStart(12, '0')}`;

/** The QuickBooks simulator's webhook verifier in worlds with webhooks. */
export const TEST_QBO_WEBHOOK_VERIFIER = 'test-qbo-webhook-verifier';

export async function startWorld(
  opts: {
    qbo?: QuickBooksSimulatorOptions;
    sm8?: ServiceM8SimulatorOptions;
    env?: Record<string, string>;
    /**
     * true: both simulators deliver webhooks to the API (QuickBooks signed with TEST_QBO_WEBHOOK_VERIFIER).
     * Otherwise (default) tests drive workflows by hand: the QuickBooks simulator sends none, and the
     * ServiceM8 subscriptions made on connect (TRG-3) stay paused, their deliveries queued.
     */
    webhooks?: boolean;
    /** true: connecting also creates the connection's Temporal schedules (TRG-2), as in production. */
    schedules?: boolean;
    /** true: a complete connection starts its onboarding (CM-1), as in production. */
    onboarding?: boolean;
    /** Rate limits of the product's governor (default: the documented ones). */
    governorLimits?: GovernorLimits;
  } = {},
): Promise<World> {
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const qbo = await startQuickBooksSimulator({
    ...(opts.webhooks
      ? { webhookUrl: `${apiUrl}/webhooks/quickbooks`, webhookVerifier: TEST_QBO_WEBHOOK_VERIFIER }
      : {}),
    ...opts.qbo,
  });
  const sm8 = await startServiceM8Simulator({ ...opts.sm8 });
  if (!opts.webhooks) sm8.control.webhooks.pause();
  const env: Record<string, string> = {
    PUBLIC_BASE_URL: apiUrl,
    ...simulatorProductEnv(sm8, qbo),
    // Intuit asks for 60 s after a 429; tests hold off 1 s so that they stay short.
    RATE_LIMIT_WAIT_SECONDS: '1',
    ...(opts.webhooks
      ? { QBO_WEBHOOK_VERIFIER: opts.qbo?.webhookVerifier ?? TEST_QBO_WEBHOOK_VERIFIER }
      : {}),
    // The API always has an admin token (client/admin-token.ts); a world gets one of its own.
    ADMIN_TOKEN: `test-admin-${crypto.randomBytes(12).toString('base64url')}`,
    ...opts.env,
  };
  const adminToken = env.ADMIN_TOKEN as string;
  const h = await createHarness({ env, governorLimits: opts.governorLimits });
  const adminHeaders = { Authorization: `Bearer ${adminToken}` };
  const api = buildApiServer(
    buildApiDeps(h.config, h.deps, LazyTemporal.of(h.client), h.taskQueue, {
      schedules: opts.schedules ?? false,
      onboarding: opts.onboarding ?? false,
    }),
  );
  await api.listen({ host: '127.0.0.1', port: apiPort });

  return {
    qbo,
    sm8,
    h,
    api,
    apiUrl,
    env,
    adminToken,
    async connect(connectionId, opts = {}) {
      const realm =
        opts.realmId ??
        (await h.deps.store.get(connectionId))?.qboRealmId ??
        // A random id: the test database outlives each simulator, and realm ids are UNIQUE there.
        qbo.control.createRealm({ companyName: connectionId, realmId: newRealmId() });
      // As a person does it: a connect link (admin token), opened in a browser (link -> Intuit -> callback).
      const link = await requestConnectLink(apiUrl, adminToken, 'quickbooks', connectionId);
      const opened = await openConnectLink(link, { realmId: realm });
      const callback = await axios.get<{ realmId: string }>(opened.callbackUrl, {
        headers: { Cookie: opened.cookie },
        validateStatus: () => true,
      });
      if (callback.status !== 200)
        throw new Error(`callback failed: ${callback.status} ${JSON.stringify(callback.data)}`);
      if (opts.sm8 === false) return { realmId: callback.data.realmId };
      const sm8 = await axios.post(
        `${apiUrl}/connections/${connectionId}/servicem8`,
        { apiKey: DEFAULT_API_KEY },
        { headers: adminHeaders, validateStatus: () => true },
      );
      if (sm8.status !== 200)
        throw new Error(`ServiceM8 connect failed: ${sm8.status} ${JSON.stringify(sm8.data)}`);
      return { realmId: callback.data.realmId };
    },
    async close() {
      await api.close();
      await h.close();
      await sm8.stop();
      await qbo.stop();
    },
  };
}
