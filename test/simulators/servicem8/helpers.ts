/**
 * Shared helpers for the ServiceM8 simulator tests: a simulator per test file, an axios client that never
 * throws on HTTP status, and a local webhook receiver.
 */
import axios, { type AxiosInstance } from 'axios';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  DEFAULT_API_KEY,
  type RunningServiceM8Simulator,
  type ServiceM8SimulatorOptions,
  startServiceM8Simulator,
} from '../../../simulators/servicem8';

export const API_KEY = DEFAULT_API_KEY;

export async function startSim(options: ServiceM8SimulatorOptions = {}): Promise<RunningServiceM8Simulator> {
  return startServiceM8Simulator({ port: 0, ...options });
}

/** Client for `/api_1.0` with the API key; resolves for every HTTP status. */
export function apiClient(
  sim: RunningServiceM8Simulator,
  headers: Record<string, string> = {},
): AxiosInstance {
  return axios.create({
    baseURL: `${sim.url}/api_1.0`,
    headers: { 'X-Api-Key': API_KEY, ...headers },
    validateStatus: () => true,
  });
}

/** Client for the simulator root (webhook_subscriptions, oauth, __sim) without credentials. */
export function rootClient(
  sim: RunningServiceM8Simulator,
  headers: Record<string, string> = {},
): AxiosInstance {
  return axios.create({ baseURL: sim.url, headers, validateStatus: () => true, maxRedirects: 0 });
}

/** `$filter` correctly encoded as `%24filter` (axios would leave `$` unencoded, which the API ignores). */
export function filterQuery(filter: string): string {
  return `%24filter=${encodeURIComponent(filter)}`;
}

export interface ReceivedWebhook {
  body: unknown;
  contentType: string;
  at: number;
}

/**
 * A webhook receiver. Answers the subscribe challenge with the challenge value (unless told otherwise)
 * and notifications with `status()` (200 by default).
 */
export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  challenges: Array<Record<string, string>>;
  setStatus(status: number): void;
  /** Delay before answering notifications (not challenges). */
  setDelayMs(ms: number): void;
  setChallengeAnswer(answer: (challenge: string) => string): void;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<WebhookReceiver> {
  const app: FastifyInstance = Fastify({ logger: false, forceCloseConnections: true });
  const received: ReceivedWebhook[] = [];
  const challenges: Array<Record<string, string>> = [];
  let status = 200;
  let delayMs = 0;
  let challengeAnswer = (challenge: string) => challenge;
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  app.post('/hook', async (request, reply) => {
    const contentType = String(request.headers['content-type'] ?? '');
    const body = request.body as Record<string, string>;
    if (contentType.startsWith('application/x-www-form-urlencoded') && body.mode === 'subscribe') {
      challenges.push(body);
      reply.type('text/plain');
      return challengeAnswer(body.challenge ?? '');
    }
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    received.push({ body: request.body, contentType, at: Date.now() });
    reply.code(status);
    return { ok: status < 300 };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    challenges,
    setStatus: (next) => {
      status = next;
    },
    setDelayMs: (ms) => {
      delayMs = ms;
    },
    setChallengeAnswer: (fn) => {
      challengeAnswer = fn;
    },
    waitFor: async (count, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} webhooks, got ${received.length}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return received;
    },
    close: async () => {
      await app.close();
    },
  };
}

/** Subscribes through the public endpoint (form-encoded, like ServiceM8 documents). */
export async function subscribe(
  sim: RunningServiceM8Simulator,
  object: string,
  fields: string,
  callbackUrl: string,
  uniqueId = 'test',
): Promise<{ status: number; data: unknown }> {
  const form = new URLSearchParams({ object, fields, callback_url: callbackUrl, unique_id: uniqueId });
  const response = await rootClient(sim, { 'X-Api-Key': API_KEY }).post(
    '/webhook_subscriptions',
    form.toString(),
    {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    },
  );
  return { status: response.status, data: response.data };
}

export const NEW_UUID = (): string => crypto.randomUUID();
