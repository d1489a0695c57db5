/**
 * The built-in demo for `npm start` without real credentials: both API simulators (seeded with the demo
 * world) and the configuration that points the product at them. The demo connection is then made through
 * the product's real connect flows, exactly as a user connects real accounts.
 */
import fs from 'node:fs';
import path from 'node:path';
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

/** Where the demo's simulators keep their worlds (DATA_DIR/simulators), so a restart continues them. */
export function demoStateFiles(dataDir: string): { sm8: string; qbo: string } {
  const dir = path.join(dataDir, 'simulators');
  return { sm8: path.join(dir, 'servicem8.json'), qbo: path.join(dir, 'quickbooks.json') };
}

/** Whether both simulators' worlds were saved by an earlier start (neither: a fresh demo). */
export function demoStateOnDisk(dataDir: string): 'both' | 'none' | 'partial' {
  const files = Object.values(demoStateFiles(dataDir)).filter((f) => fs.existsSync(f));
  return files.length === 2 ? 'both' : files.length === 0 ? 'none' : 'partial';
}

/**
 * Both simulators, seeded with the demo world on the first start and continuing their saved worlds
 * (DATA_DIR/simulators/*.json) on every later one.
 */
export async function startDemoSimulators(
  env: NodeJS.ProcessEnv,
  apiPort: number,
  dataDir: string,
): Promise<DemoSimulators> {
  const publicBase = env.PUBLIC_BASE_URL || `http://127.0.0.1:${apiPort}`;
  const verifier = env.QBO_WEBHOOK_VERIFIER || 'demo-webhook-verifier';
  const files = demoStateFiles(dataDir);
  const sm8 = await startServiceM8Simulator({
    port: portFrom(env, 'SM8_SIM_PORT', 4010),
    seedDemo: true,
    stateFile: files.sm8,
  });
  const qbo = await startQuickBooksSimulator({
    port: portFrom(env, 'QBO_SIM_PORT', 4020),
    seedDemo: true,
    webhookUrl: `${publicBase}/webhooks/quickbooks`,
    webhookVerifier: verifier,
    stateFile: files.qbo,
  }).catch(async (err: unknown) => {
    await sm8.stop();
    throw err;
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

/** A connect flow opened as a browser would, stopped before the callback: what the callback needs. */
export interface OpenedConnectLink {
  /** Our callback URL as the provider redirected to it (code, state, and for QuickBooks realmId). */
  callbackUrl: string;
  /** The `Cookie` header the browser now sends to the callback (the state's browser binding). */
  cookie: string;
}

/**
 * Opens a connect link like a browser: the link (which sets the state cookie and redirects), then the
 * provider's consent (the simulators consent at once and redirect back). `consentParams` are added to the
 * consent URL (the QuickBooks simulator's `realmId` picks the company).
 */
export async function openConnectLink(
  link: string,
  consentParams: Record<string, string> = {},
): Promise<OpenedConnectLink> {
  const start = await axios.get(link, { maxRedirects: 0, validateStatus: () => true });
  if (start.status !== 302)
    throw new Error(`the connect link answered ${start.status}: ${JSON.stringify(start.data)}`);
  const cookie = (start.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
  const consentUrl = new URL(String(start.headers.location));
  for (const [k, v] of Object.entries(consentParams)) consentUrl.searchParams.set(k, v);
  const consent = await axios.get(consentUrl.toString(), {
    maxRedirects: 0,
    validateStatus: (s) => s === 302,
  });
  return { callbackUrl: String(consent.headers.location), cookie };
}

/** Asks the API for a connect link (`POST /connect/<service>` with the admin token). */
export async function requestConnectLink(
  apiUrl: string,
  adminToken: string,
  service: 'quickbooks' | 'servicem8',
  connection: string,
  name?: string,
): Promise<string> {
  const res = await axios.post<{ url: string }>(
    `${apiUrl}/connect/${service}`,
    { connection, ...(name ? { name } : {}) },
    { headers: { Authorization: `Bearer ${adminToken}` }, validateStatus: () => true },
  );
  if (res.status !== 200)
    throw new Error(`asking for a ${service} connect link failed: ${res.status} ${JSON.stringify(res.data)}`);
  return res.data.url;
}

/**
 * Connects the demo accounts through the real flows: a connect link opened as a browser would (Intuit
 * OAuth: authorize -> consent -> callback with the state cookie, intuit-oauth exchanging the code) and a
 * ServiceM8 API key. Idempotent: an existing healthy connection is kept.
 */
export async function connectDemo(apiUrl: string, connectionId: string, adminToken: string): Promise<void> {
  const link = await requestConnectLink(apiUrl, adminToken, 'quickbooks', connectionId, 'Demo');
  const opened = await openConnectLink(link);
  const callback = await axios.get(opened.callbackUrl, {
    headers: { Cookie: opened.cookie },
    validateStatus: () => true,
  });
  if (callback.status !== 200 && callback.status !== 409) {
    throw new Error(`demo QuickBooks connect failed: ${callback.status} ${JSON.stringify(callback.data)}`);
  }
  const sm8 = await axios.post(
    `${apiUrl}/connections/${connectionId}/servicem8`,
    { apiKey: DEFAULT_API_KEY, name: 'Demo' },
    { headers: { Authorization: `Bearer ${adminToken}` }, validateStatus: () => true },
  );
  if (sm8.status !== 200)
    throw new Error(`demo ServiceM8 connect failed: ${sm8.status} ${JSON.stringify(sm8.data)}`);
}
