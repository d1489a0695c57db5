/**
 * Issue 10: the codec server the Temporal Web UI decodes payloads with (client/codec-routes.ts), on a test
 * Fastify instance laid out as the API will be: the preflight public, the codec routes inside a scope that
 * authenticates (here a stand-in that accepts one session cookie).
 */
import crypto from 'node:crypto';
import axios from 'axios';
import Fastify, { type FastifyInstance } from 'fastify';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { registerCodecPreflight, registerCodecRoutes } from '../client/codec-routes';
import { installErrorHandling } from '../client/http-errors';
import { loadConfig } from '../infra/config';
import { ENCRYPTED_ENCODING, PayloadEncryptionCodec } from '../infra/payload-codec';
import { freePort } from '../infra/ports';
import { devServerArgs } from '../infra/temporal-server';

const UI = 'http://127.0.0.1:8233';
const COOKIE = 'session=signed-in';
const EMAIL = 'harper.quinn@billing.example';
const codec = PayloadEncryptionCodec.parse(`k1:${crypto.randomBytes(32).toString('base64')}`);
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');
const json = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
  data: b64(p.data ?? new Uint8Array()),
});

let app: FastifyInstance;
let base: string;
beforeAll(async () => {
  app = Fastify({ logger: false });
  installErrorHandling(app, { warn: () => undefined, error: () => undefined });
  const deps = { codec, uiOrigin: UI, namespace: 'default' };
  registerCodecPreflight(app, deps);
  await app.register(async (protectedScope) => {
    protectedScope.addHook('onRequest', async (req, reply) => {
      if (req.headers.cookie !== COOKIE) return reply.code(401).send({ error: 'sign in first' });
    });
    registerCodecRoutes(protectedScope, deps);
  });
  const port = await freePort();
  await app.listen({ host: '127.0.0.1', port });
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await app.close();
});

interface Answer {
  statusCode: number;
  headers: Record<string, string | undefined>;
  json<T = { error: string }>(): T;
}

/** A request as a browser sends it (axios, so that Origin and Cookie can be set). */
async function send(
  method: 'POST' | 'OPTIONS',
  url: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Answer> {
  const res = await axios.request({
    method,
    url: `${base}${url}`,
    headers,
    data: body === undefined ? undefined : JSON.stringify(body),
    responseType: 'text',
    validateStatus: () => true,
  });
  const text = String(res.data);
  return {
    statusCode: res.status,
    headers: res.headers as Record<string, string | undefined>,
    json: <T>() => JSON.parse(text) as T,
  };
}

const post = (url: string, payloads: unknown[], headers: Record<string, string> = {}) =>
  send(
    'POST',
    url,
    { origin: UI, cookie: COOKIE, 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
    { payloads },
  );

describe('issue 10: codec server (Temporal remote codec protocol)', () => {
  it('/codec/decode turns an encrypted payload back into its plaintext payload', async () => {
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload({ billEmail: EMAIL })]);
    const res = await post('/codec/decode', [json(sealed as Payload)]);
    expect(res.statusCode).toBe(200);
    const [out] = res.json<{ payloads: Array<{ metadata: Record<string, string>; data: string }> }>()
      .payloads;
    expect(out?.metadata.encoding).toBe(b64('json/plain'));
    expect(JSON.parse(Buffer.from(out?.data ?? '', 'base64').toString())).toEqual({ billEmail: EMAIL });
  });

  it('/codec/encode encrypts with the active key; plaintext passes /decode unchanged', async () => {
    const plain = json(defaultPayloadConverter.toPayload('Harper Quinn'));
    const enc = await post('/codec/encode', [plain]);
    expect(enc.statusCode).toBe(200);
    const [sealed] = enc.json<{ payloads: Array<{ metadata: Record<string, string>; data: string }> }>()
      .payloads;
    expect(sealed?.metadata.encoding).toBe(b64(ENCRYPTED_ENCODING));
    expect(sealed?.metadata['encryption-key-id']).toBe(b64('k1'));
    expect((await post('/codec/decode', [sealed])).json()).toEqual({ payloads: [plain] });
    expect((await post('/codec/decode', [plain])).json()).toEqual({ payloads: [plain] });
  });

  it('refuses an altered payload, a foreign key and another namespace with a clear 400', async () => {
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload({ billEmail: EMAIL })]);
    const altered = json(sealed as Payload);
    altered.data = b64(Buffer.from(altered.data, 'base64').subarray(0, 40));
    const bad = await post('/codec/decode', [altered]);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/does not decrypt: it does not authenticate/);

    const foreign = json(sealed as Payload);
    foreign.metadata['encryption-key-id'] = b64('other');
    expect((await post('/codec/decode', [foreign])).json().error).toMatch(/encrypted with key "other"/);

    const ns = await post('/codec/decode', [json(sealed as Payload)], { 'x-namespace': 'payroll' });
    expect(ns.statusCode).toBe(400);
    expect(ns.json().error).toMatch(/keys of namespace "default", not "payroll"/);

    const notB64 = await post('/codec/decode', [{ data: 'not base64!' }]);
    expect(notB64.statusCode).toBe(400);
  });

  it('answers the Web UI preflight without credentials, with the allow headers for that origin only', async () => {
    const res = await send('OPTIONS', '/codec/decode', {
      origin: UI,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-namespace',
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(UI);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('x-namespace');
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('content-type');
    expect(res.headers.vary).toContain('Origin');
  });

  it('gives another origin no allow-origin header, on the preflight or the answer', async () => {
    const evil = 'http://evil.example';
    const pre = await send('OPTIONS', '/codec/decode', {
      origin: evil,
      'access-control-request-method': 'POST',
    });
    expect(pre.statusCode).toBe(403);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    expect(pre.json().error).toMatch(/only the Temporal Web UI at http:\/\/127\.0\.0\.1:8233/);
    const res = await post('/codec/decode', [], { origin: evil });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('lets the Web UI read a refusal from the auth in front of it (CORS headers on the 401 too)', async () => {
    const res = await post('/codec/decode', [], { cookie: 'session=expired' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['access-control-allow-origin']).toBe(UI);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
  });
});

describe('issue 10: the Web UI is pointed at the codec server', () => {
  it('npm start passes --ui-codec-endpoint to the dev server, and only when it has a Web UI', () => {
    const args = devServerArgs({
      cliPath: 'temporal',
      port: 7233,
      uiPort: 8233,
      uiCodecEndpoint: 'http://127.0.0.1:3000/codec',
    });
    expect(args[args.indexOf('--ui-codec-endpoint') + 1]).toBe('http://127.0.0.1:3000/codec');
    const headless = devServerArgs({ cliPath: 'temporal', port: 7233, uiCodecEndpoint: 'http://x/codec' });
    expect(headless).not.toContain('--ui-codec-endpoint');
  });

  it('TEMPORAL_UI_ORIGIN defaults to the dev server UI and must be a bare origin', () => {
    expect(loadConfig({}).temporal.uiOrigin).toBe('http://127.0.0.1:8233');
    expect(loadConfig({ TEMPORAL_UI_PORT: '9000' }).temporal.uiOrigin).toBe('http://127.0.0.1:9000');
    expect(loadConfig({ TEMPORAL_UI_ORIGIN: 'https://temporal.example.com/' }).temporal.uiOrigin).toBe(
      'https://temporal.example.com',
    );
    expect(() => loadConfig({ TEMPORAL_UI_ORIGIN: 'http://127.0.0.1:8233/namespaces' })).toThrow(
      /TEMPORAL_UI_ORIGIN must be an origin like http:\/\/127.0.0.1:8233 \(no path\)/,
    );
  });
});
