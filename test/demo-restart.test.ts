/**
 * OPS-3: the demo as `npm start` runs it (node --import tsx workers/start.ts, nothing configured but ports
 * and DATA_DIR): its database belongs to the DATA_DIR, the simulators keep their worlds in DATA_DIR, a
 * restart continues the same world (an exported invoice stays EXPORTED, never DELETED_IN_QBO, and a new
 * approval exports), Ctrl-C stops everything quietly within 2 s, and `npm run reset` starts clean.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { runCli } from '../client/cli';
import { loadConfig } from '../infra/config';
import { canConnect, DEFAULT_LOCAL_URL, localDatabaseName, withDatabase } from '../infra/database';
import net from 'node:net';
import { resetDemo } from '../workers/reset';
import { waitFor } from './helpers/wait';

const ROOT = path.resolve(__dirname, '..');

/**
 * A free port below the ephemeral range (32768 and up on Linux): the product binds these ports twice, minutes
 * apart, and an ephemeral port is soon taken by some outgoing connection on a busy machine.
 */
async function listenPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

interface Started {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

/** `npm start` in its own process group (as a terminal runs it), resolved once it logs "ready". */
async function start(env: NodeJS.ProcessEnv): Promise<Started> {
  let out = '';
  let err = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/start.ts'], {
    cwd: ROOT,
    env,
    detached: true,
  });
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!/"msg":"ready"/.test(out)) return;
      child.stdout?.off('data', check);
      resolve();
    };
    child.stdout?.on('data', check);
    void exit.then((code) => reject(new Error(`npm start exited (${code}) early:\n${out}\n${err}`)));
  });
  return { child, out: () => out, err: () => err, exit };
}

/** Ctrl-C as a terminal sends it (to the whole process group); resolves with the exit code and the time. */
async function ctrlC(s: Started): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  process.kill(-(s.child.pid as number), 'SIGINT');
  const code = await s.exit;
  return { code, ms: Date.now() - t0 };
}

type Result = { code: number; out: string; err: string };
async function cli(env: NodeJS.ProcessEnv, args: string[]): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, (s) => out.push(s), { env, err: (s) => err.push(s), pollIntervalMs: 200 });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** What a quiet stop must not print: SDK state errors, stack traces, failure dumps. */
function noise(text: string): string[] {
  return text.split('\n').filter((l) => /IllegalStateError|DRAINING|^\s+at .+:\d+:\d+\)?$/.test(l));
}

describe('OPS-3: the demo that npm start runs', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let running: Started | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-demo-'));
    const clean = { ...process.env };
    for (const name of Object.keys(clean))
      if (
        /^(DATABASE_URL|TEMPORAL_|QBO_|SM8_|ENCRYPTION_KEYS|PAYLOAD_ENCRYPTION_KEYS|ADMIN_TOKEN)/.test(name)
      )
        delete clean[name];
    env = {
      ...clean,
      DATA_DIR: dir,
      LOG_LEVEL: 'info',
      PORT: String(await listenPort()),
      TEMPORAL_PORT: String(await listenPort()),
      TEMPORAL_UI_PORT: String(await listenPort()),
      SM8_SIM_PORT: String(await listenPort()),
      QBO_SIM_PORT: String(await listenPort()),
      EMBEDDED_PG_PORT: String(await listenPort()),
      TEMPORAL_CLI_PATH: process.env.TEST_TEMPORAL_CLI ?? process.env.TEMPORAL_CLI_PATH ?? 'temporal',
    };
  });
  afterAll(async () => {
    if (running && running.child.exitCode === null) {
      process.kill(-(running.child.pid as number), 'SIGKILL');
      await running.exit;
    }
    await resetDemo(loadConfig(env)).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const apiUrl = () => `http://127.0.0.1:${env.PORT}`;
  const cliEnv = () => ({
    ...env,
    ADMIN_TOKEN: fs.readFileSync(path.join(dir, 'admin.token'), 'utf8').trim(),
  });
  const invoices = async () => {
    const r = await axios.get<Array<{ job_uuid: string; state: string; qbo_invoice_id: string | null }>>(
      `${apiUrl()}/admin/invoices?connection=demo`,
      { headers: { Authorization: `Bearer ${cliEnv().ADMIN_TOKEN}` } },
    );
    return r.data;
  };
  const approve = async (job: string) => {
    const r = await cli(cliEnv(), ['demo', 'approve', job, '--timeout', '600']);
    expect(r).toMatchObject({ code: 0 });
    return /QuickBooks invoice (\S+)/.exec(r.out)?.[1];
  };

  /** The job's export row once it is EXPORTED. */
  const exportedState = (job: string) =>
    waitFor(`job ${job} exported`, async () =>
      (await invoices()).find((i) => i.job_uuid === job && i.state === 'EXPORTED'),
    );

  let first: string;
  let firstInvoice: string | undefined;

  it('OPS-3: the first start makes a database of its own DATA_DIR, seeds the simulators and exports an approval', async () => {
    running = await start(env);
    expect(running.out()).toContain('connected to a fresh world');
    expect(running.out()).toContain(localDatabaseName(dir));
    expect(fs.existsSync(path.join(dir, 'simulators', 'servicem8.json'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'simulators', 'quickbooks.json'))).toBe(true);
    const jobs = await cli(cliEnv(), ['demo', 'jobs', '-q']);
    first = jobs.out.split('\n')[0] as string;
    firstInvoice = await approve(first);
    expect(firstInvoice).toMatch(/^\d+$/);
    // The CLI sees the QuickBooks invoice; the sync records EXPORTED right after: stop only once it has.
    expect(await exportedState(first)).toMatchObject({ state: 'EXPORTED', qbo_invoice_id: firstInvoice });
  }, 900_000);

  it('OPS-3: Ctrl-C stops every process within 2 s, exit code 0, without DRAINING errors or stack traces', async () => {
    const s = running as Started;
    const stopped = await ctrlC(s);
    console.log(`Ctrl-C to exit: ${stopped.ms} ms`);
    expect(stopped.code).toBe(0);
    expect(noise(s.out() + s.err())).toEqual([]);
    expect(s.err()).toBe('');
    expect(stopped.ms).toBeLessThan(2000);
    // Nothing is left listening: the API, both simulators and the Temporal dev server are gone.
    for (const port of [env.PORT, env.SM8_SIM_PORT, env.QBO_SIM_PORT, env.TEMPORAL_PORT])
      await expect(axios.get(`http://127.0.0.1:${port}/`, { timeout: 1000 })).rejects.toMatchObject({
        code: 'ECONNREFUSED',
      });
    expect(fs.existsSync(path.join(dir, 'start.pid'))).toBe(false);
  }, 60_000);

  it('OPS-3: a restart continues the same world: the invoice stays EXPORTED and a new approval exports', async () => {
    running = await start(env);
    try {
      await continues();
    } finally {
      const stopped = await ctrlC(running);
      console.log(`Ctrl-C to exit after the restart: ${stopped.ms} ms`);
      expect(stopped.code).toBe(0);
    }
  }, 900_000);

  async function continues(): Promise<void> {
    expect(running?.out()).toContain('continues its saved world');
    const before = await invoices();
    expect(before.find((i) => i.job_uuid === first)).toMatchObject({
      state: 'EXPORTED',
      qbo_invoice_id: firstInvoice,
    });
    const jobs = await cli(cliEnv(), ['demo', 'jobs', '-q']);
    const waiting = jobs.out.split('\n').filter((j) => j !== '');
    expect(waiting).not.toContain(first);
    // Approve every waiting job (some demo jobs are built to be held, e.g. a total that cannot match): at
    // least one new approval must export in the continued world.
    for (const job of waiting)
      expect(await cli(cliEnv(), ['demo', 'approve', job, '--no-wait'])).toMatchObject({ code: 0 });
    const exported = await waitFor(
      'a new approval exported in the continued world',
      async () => {
        const done = (await invoices())
          .filter((i) => waiting.includes(i.job_uuid) && i.state === 'EXPORTED')
          .map((i) => i.job_uuid);
        return done.length > 0 && done;
      },
      600_000,
      1000,
    );
    expect(exported.length).toBeGreaterThan(0);
    const after = await invoices();
    expect(after.filter((i) => i.state === 'DELETED_IN_QBO')).toEqual([]);
    // No record collided with a stale link (the endless unique-key loop of a re-seeded world).
    const collisions = (running?.out() ?? '')
      .split('\n')
      .filter((line) => /duplicate key|unique constraint|23505/i.test(line));
    expect(collisions).toEqual([]);
    expect(after.find((i) => i.job_uuid === first)).toMatchObject({
      state: 'EXPORTED',
      qbo_invoice_id: firstInvoice,
    });
  }

  it('OPS-3: a start whose simulators lost their worlds says so in one line and what to do', async () => {
    const saved = path.join(dir, 'simulators-aside');
    fs.renameSync(path.join(dir, 'simulators'), saved);
    const s = spawn(process.execPath, ['--import', 'tsx', 'workers/start.ts'], {
      cwd: ROOT,
      env,
      detached: true,
    });
    let out = '';
    s.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    s.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => s.once('exit', resolve));
    expect(code).toBe(1);
    const errors = out
      .split('\n')
      .filter((l) => l.includes('"level":"error"'))
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(errors).toEqual([
      expect.stringMatching(
        /^The database sm8qbo_\w+ \((local|embedded)\) holds the demo connection "demo", but the simulators' saved worlds \(.+\) are gone, .*; run `npm run reset` to start a clean demo\.$/,
      ),
    ]);
    fs.rmSync(path.join(dir, 'simulators'), { recursive: true, force: true });
    fs.renameSync(saved, path.join(dir, 'simulators'));
  }, 120_000);

  it("OPS-3: npm run reset deletes the database, the simulators' worlds and Temporal's data, keeps the keys", async () => {
    const config = loadConfig(env);
    const local = await canConnect(withDatabase(DEFAULT_LOCAL_URL, 'postgres'));
    const lines = await resetDemo(config);
    if (local) expect(lines).toContain(`deleted  database ${localDatabaseName(dir)} on 127.0.0.1:5432`);
    else expect(lines.join('\n')).toContain(`deleted  ${path.join(dir, 'postgres')}`);
    expect(lines.join('\n')).toContain(`deleted  ${path.join(dir, 'simulators')}`);
    expect(lines.join('\n')).toContain(`deleted  ${path.join(dir, 'temporal')}`);
    for (const sub of ['simulators', 'temporal', 'postgres'])
      expect(fs.existsSync(path.join(dir, sub))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'encryption.key'))).toBe(true);
    // A second reset finds nothing left.
    expect((await resetDemo(config))[0]).toBe(`nothing to delete in ${dir}`);
  }, 60_000);
});

describe('OPS-3: reset and checkouts', () => {
  it('OPS-3: two checkouts (two DATA_DIRs) get two databases; the same DATA_DIR always the same one', () => {
    const a = localDatabaseName('/home/me/one/.data');
    const b = localDatabaseName('/home/me/two/.data');
    expect(a).toMatch(/^sm8qbo_[0-9a-f]{12}$/);
    expect(b).not.toBe(a);
    expect(localDatabaseName('/home/me/one/.data/')).toBe(a);
    const config = (dataDir: string) => loadConfig({ DATA_DIR: dataDir });
    expect(localDatabaseName(config('/home/me/one/.data').dataDir)).toBe(a);
  });

  it('OPS-3: reset never deletes a DATABASE_URL database, and refuses while npm start runs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-reset-'));
    try {
      fs.mkdirSync(path.join(dir, 'simulators'));
      const url = 'postgres://postgres@127.0.0.1:5432/somebody_elses';
      const lines = await resetDemo({ dataDir: dir, databaseUrl: url });
      expect(lines[0]).toBe(
        "kept     database somebody_elses on 127.0.0.1:5432: it is DATABASE_URL's, which reset never deletes",
      );
      expect(lines).toContain(`deleted  ${path.join(dir, 'simulators')} (the simulators' saved worlds)`);
      fs.mkdirSync(path.join(dir, 'temporal'));
      fs.writeFileSync(path.join(dir, 'start.pid'), `${process.ppid}\n`);
      await expect(resetDemo({ dataDir: dir, databaseUrl: url })).rejects.toThrow(
        `npm start is running on ${dir} (pid ${process.ppid}): stop it (Ctrl-C) before npm run reset`,
      );
      expect(fs.existsSync(path.join(dir, 'temporal'))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
