/**
 * OPS-4: the product's logs are JSON lines (pino) carrying the workflow id, run id and activity; a failed
 * activity attempt is one line (activity type, attempt, workflow id, failure type and message), not the
 * SDK's dump of the error object. The worker runs in a child process with the product's runtime logger
 * (infra/temporal-runtime.ts), against the test Temporal server; its stdout is the captured stream.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import { createLogger, httpLogger, rootLogger } from '../infra/log';
import { testEnv, uniqueTaskQueue } from './helpers/env';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');

describe('OPS-4: logs', () => {
  it('OPS-4: a failing activity attempt produces exactly one JSON line with its type, attempt, connection, workflow and failure', async () => {
    const taskQueue = uniqueTaskQueue('logging');
    const { stdout, stderr } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join('test', 'fixtures', 'logging', 'run-worker.ts'),
        testEnv.temporalAddress,
        taskQueue,
      ],
      { cwd: ROOT, timeout: 110_000, env: { ...process.env, LOG_LEVEL: 'info' } },
    );
    expect(stderr).toBe('');
    const lines = stdout.split('\n').filter((l) => l !== '');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const failures = parsed.filter(
      (l) => String(l.msg).includes('alwaysFails') && String(l.msg).includes('failed'),
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      level: 'warn',
      name: 'temporal',
      connection: 'demo',
      activityType: 'alwaysFails',
      attempt: 1,
      workflowId: `logging/demo/${taskQueue}`,
      runId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      failureType: 'DemoBroken',
      failure: 'the test activity fails on purpose',
      msg: 'activity alwaysFails attempt 1 failed: the test activity fails on purpose',
      // Where it was thrown, in our code: the file and line, not the stack.
      where: expect.stringMatching(/^test\/fixtures\/logging\/activities\.ts:\d+/),
    });
    // One line: no stack, no details, no second line of the message.
    expect(lines.find((l) => l.includes('alwaysFails') && l.includes('failed'))).not.toMatch(
      /stack|xxxx|second line/,
    );
    // The activity's own log line carries the workflow, run and activity too.
    expect(parsed.find((l) => l.msg === 'about to fail')).toMatchObject({
      connection: 'demo',
      activityType: 'alwaysFails',
      workflowId: `logging/demo/${taskQueue}`,
      runId: expect.any(String),
    });
  }, 120_000);

  it('OPS-4: a named logger writes one JSON object per line with its level, name and fields, and filters below its level', () => {
    const chunks: string[] = [];
    rootLogger(
      new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk.toString());
          done();
        },
      }) as never,
    );
    const log = createLogger('info', 'start', { connection: 'acme' });
    log.debug('hidden');
    log.info('hello', { workflowId: 'invoice/acme/1', runId: 'r1' });
    log.error('broken');
    const lines = chunks
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as object);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'info',
        name: 'start',
        connection: 'acme',
        workflowId: 'invoice/acme/1',
        runId: 'r1',
        msg: 'hello',
        time: expect.any(String),
      }),
      expect.objectContaining({ level: 'error', name: 'start', connection: 'acme', msg: 'broken' }),
    ]);
  });

  it('OPS-4: the API logs each request with its reqId, without query strings or webhook path tokens', async () => {
    const chunks: string[] = [];
    rootLogger(
      new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk.toString());
          done();
        },
      }) as never,
    );
    const app = Fastify({ loggerInstance: httpLogger('info') });
    app.get('/connect/quickbooks/callback', async () => 'ok');
    app.post('/webhooks/servicem8/:token', async () => 'ok');
    await app.inject({ method: 'GET', url: '/connect/quickbooks/callback?code=SECRETCODE&state=S1' });
    await app.inject({ method: 'POST', url: '/webhooks/servicem8/SECRETTOKEN', payload: {} });
    await app.close();
    const text = chunks.join('');
    expect(text).not.toMatch(/SECRETCODE|SECRETTOKEN|state=S1/);
    const lines = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === 'incoming request' && l.reqId === 'req-2')).toMatchObject({
      name: 'http',
      req: { method: 'POST', url: '/webhooks/servicem8/***' },
    });
    expect(lines.filter((l) => l.msg === 'request completed').map((l) => l.reqId)).toEqual([
      'req-1',
      'req-2',
    ]);
  });
});
