/**
 * The built-in demo for `npm start` without real credentials: both API simulators (seeded with the demo
 * world) and the configuration that points the product at them. The demo connection is then made through
 * the product's real connect flows, exactly as a user connects real accounts.
 */
import axios from 'axios';
import { startQuickBooksSimulator, type RunningQuickBooksSimulator } from '../simulators/quickbooks';
import {
  DEFAULT_API_KEY,
  startServiceM8Simulator,
  type RunningServiceM8Simulator,
} from '../simulators/servicem8';

export interface DemoSimulators {
  sm8: RunningServiceM8Simulator;
  qbo: RunningQuickBooksSimulator;
  /** Environment overrides that point the product at the simulators. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** The configuration that points the product at running simulators (demo, tests, benchmark). */
export function simulatorProductEnv(
  sm8: RunningServiceM8Simulator,
  qbo: RunningQuickBooksSimulator,
): Record<string, string> {
  return {
    QBO_CLIENT_ID: 'qbo-sim-client-id',
    QBO_CLIENT_SECRET: 'qbo-sim-client-secret',
    QBO_ENVIRONMENT: 'sandbox',
    QBO_API_BASE_URL: qbo.url,
    QBO_AUTHORIZE_URL: qbo.oauthEndpoints.authorizeEndpoint,
    QBO_TOKEN_URL: qbo.oauthEndpoints.tokenEndpoint,
    QBO_REVOKE_URL: qbo.oauthEndpoints.revokeEndpoint,
    SM8_API_BASE_URL: sm8.url,
  };
}

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 65535)
    throw new Error(`Invalid configuration: ${name} must be a TCP port, got "${raw}"`);
  return n;
}

export async function startDemoSimulators(env: NodeJS.ProcessEnv, apiPort: number): Promise<DemoSimulators> {
  const publicBase = env.PUBLIC_BASE_URL || `http://127.0.0.1:${apiPort}`;
  const verifier = env.QBO_WEBHOOK_VERIFIER || 'demo-webhook-verifier';
  const sm8 = await startServiceM8Simulator({ port: portFrom(env, 'SM8_SIM_PORT', 4010), seedDemo: true });
  const qbo = await startQuickBooksSimulator({
    port: portFrom(env, 'QBO_SIM_PORT', 4020),
    seedDemo: true,
    webhookUrl: `${publicBase}/webhooks/quickbooks`,
    webhookVerifier: verifier,
  });
  return {
    sm8,
    qbo,
    env: { ...simulatorProductEnv(sm8, qbo), QBO_WEBHOOK_VERIFIER: verifier },
    async stop() {
      await Promise.all([sm8.stop(), qbo.stop()]);
    },
  };
}

/**
 * Connects the demo accounts through the real flows: Intuit OAuth (authorize -> consent -> callback,
 * intuit-oauth exchanging the code) and a ServiceM8 API key. Idempotent: an existing healthy connection is kept.
 */
export async function connectDemo(
  apiUrl: string,
  connectionId: string,
  adminToken: string | undefined,
): Promise<void> {
  const auth = adminToken ? { Authorization: `Bearer ${adminToken}` } : undefined;
  const start = await axios.get(`${apiUrl}/connect/quickbooks?connection=${connectionId}&name=Demo`, {
    headers: auth,
    maxRedirects: 0,
    validateStatus: (s) => s === 302,
  });
  const consent = await axios.get(String(start.headers.location), {
    maxRedirects: 0,
    validateStatus: (s) => s === 302,
  });
  const callback = await axios.get(String(consent.headers.location), { validateStatus: () => true });
  if (callback.status !== 200 && callback.status !== 409) {
    throw new Error(`demo QuickBooks connect failed: ${callback.status} ${JSON.stringify(callback.data)}`);
  }
  const sm8 = await axios.post(
    `${apiUrl}/connections/${connectionId}/servicem8`,
    { apiKey: DEFAULT_API_KEY, name: 'Demo' },
    { headers: auth, validateStatus: () => true },
  );
  if (sm8.status !== 200)
    throw new Error(`demo ServiceM8 connect failed: ${sm8.status} ${JSON.stringify(sm8.data)}`);
}
