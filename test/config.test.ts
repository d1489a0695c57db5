import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../infra/config';
import { VARIABLES } from '../infra/config-schema';
import { describeFailure } from '../infra/main';
import { scaledLimits } from '../apis/governor/policy';

describe('configuration', () => {
  it('has working defaults with an empty environment', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.temporal.address).toBe('127.0.0.1:7233');
    expect(c.temporal.addressIsExplicit).toBe(false);
    expect(c.temporal.uiPort).toBe(8233);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.inboxRetentionDays).toBe(14);
    expect(c.inboxFailedRetentionDays).toBe(30);
    // The API serves this machine only unless told otherwise (client/admin-token.ts).
    expect(c.host).toBe('127.0.0.1');
    expect(c.adminToken).toBeUndefined();
  });

  it('reads HOST (IPv6 in brackets too)', () => {
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '[::1]' }).host).toBe('::1');
  });

  it.each([
    ['PORT', 'eighty', /PORT must be a TCP port/],
    ['PORT', '70000', /PORT must be a TCP port/],
    ['TEMPORAL_UI_PORT', '-1', /TEMPORAL_UI_PORT must be a TCP port/],
    ['DATABASE_URL', 'mysql://x/y', /DATABASE_URL must start with postgres/],
    ['DATABASE_URL', 'not a url', /DATABASE_URL must be a URL/],
    ['DATABASE_URL', 'postgres://localhost', /DATABASE_URL must name a database/],
    ['TEMPORAL_ADDRESS', 'http://x:7233', /TEMPORAL_ADDRESS must be host:port/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of debug, info, warn, error/],
    ['TEMPORAL_START_DEV_SERVER', 'yes', /TEMPORAL_START_DEV_SERVER must be one of/],
    ['GOVERNOR_LIMIT_SCALE', '0.5', /GOVERNOR_LIMIT_SCALE must be a number from 1 to 1000/],
    ['GOVERNOR_LIMIT_SCALE', 'x10', /GOVERNOR_LIMIT_SCALE must be a number from 1 to 1000/],
    ['INBOX_RETENTION_DAYS', '0', /INBOX_RETENTION_DAYS must be a whole number of days/],
    ['INBOX_RETENTION_DAYS', '2w', /INBOX_RETENTION_DAYS must be a whole number of days/],
    ['INBOX_FAILED_RETENTION_DAYS', '0', /INBOX_FAILED_RETENTION_DAYS must be a whole number of days/],
    ['HOST', 'http://0.0.0.0', /HOST must be an IP address or host name/],
    ['HOST', 'a b', /HOST must be an IP address or host name/],
  ])('rejects %s=%s with a message naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('derives the Temporal address from TEMPORAL_PORT unless TEMPORAL_ADDRESS is set', () => {
    expect(loadConfig({ TEMPORAL_PORT: '7999' }).temporal.address).toBe('127.0.0.1:7999');
    const explicit = loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }).temporal;
    expect(explicit).toMatchObject({ address: 'temporal:7233', addressIsExplicit: true });
  });

  it('documents every variable in the README configuration table', () => {
    const readme = fs.readFileSync(path.resolve(__dirname, '..', 'README.md'), 'utf8');
    const missing = Object.keys(VARIABLES).filter((name) => !readme.includes(`| \`${name}\``));
    expect(missing).toEqual([]);
  });
});

describe('combinations of variables', () => {
  const real = { QBO_CLIENT_ID: 'app-id', QBO_CLIENT_SECRET: 'app-secret' };

  it.each([
    [{ QBO_CLIENT_ID: 'app-id' }, /QBO_CLIENT_SECRET must be set when QBO_CLIENT_ID is/],
    [{ QBO_CLIENT_SECRET: 'app-secret' }, /QBO_CLIENT_ID must be set when QBO_CLIENT_SECRET is/],
    [{ SM8_CLIENT_ID: 'addon' }, /SM8_CLIENT_SECRET must be set when SM8_CLIENT_ID is/],
    [{ SM8_CLIENT_SECRET: 'addon-secret' }, /SM8_CLIENT_ID must be set when SM8_CLIENT_SECRET is/],
  ])('refuses half of an app credential pair: %p', (env, message) => {
    expect(() => loadConfig({ SIMULATORS: 'true', ...env })).toThrow(message);
  });

  it('never switches to the real services because credentials are set: SIMULATORS=auto refuses them', () => {
    expect(() => loadConfig(real)).toThrow(ConfigError);
    expect(() => loadConfig(real)).toThrow(/SIMULATORS must be set to false to sync with the real/);
    expect(() => loadConfig({ ...real, QBO_ENVIRONMENT: 'sandbox' })).toThrow(
      /SIMULATORS must be set to false/,
    );
  });

  it('scales the governor only on the simulators (benchmarks), never against the real APIs', () => {
    expect(loadConfig({ GOVERNOR_LIMIT_SCALE: '10' }).governorLimitScale).toBe(10);
    expect(loadConfig({}).governorLimitScale).toBe(1);
    // Every rate window times the factor; QuickBooks' 10 requests at once is not a rate and stays.
    expect(scaledLimits(10)).toEqual({
      sm8: { perMinute: 1800, perDay: 200_000 },
      qbo: { perSecond: 100, perMinute: 5000, concurrent: 10 },
      'qbo-batch': { perMinute: 400 },
    });
    expect(() =>
      loadConfig({
        GOVERNOR_LIMIT_SCALE: '10',
        SIMULATORS: 'false',
        QBO_CLIENT_ID: 'id',
        QBO_CLIENT_SECRET: 'secret',
      }),
    ).toThrow(/GOVERNOR_LIMIT_SCALE must be 1 against the real ServiceM8 and QuickBooks Online/);
  });

  it('accepts real mode chosen on purpose, and requires the Intuit app for it', () => {
    expect(loadConfig({ ...real, SIMULATORS: 'false' }).simulators).toBe('false');
    expect(() => loadConfig({ SIMULATORS: 'false' })).toThrow(
      /QBO_CLIENT_ID must be set when SIMULATORS=false/,
    );
  });

  it('still lets the demo and the tests point real-looking credentials at simulators', () => {
    // npm start merges the simulators' credentials and URLs over SIMULATORS=auto (workers/demo.ts).
    const demo = {
      QBO_CLIENT_ID: 'qbo-sim-client-id',
      QBO_CLIENT_SECRET: 'qbo-sim-client-secret',
      QBO_API_BASE_URL: 'http://127.0.0.1:4020',
      SM8_API_BASE_URL: 'http://127.0.0.1:4010',
    };
    expect(loadConfig(demo).qbo.clientId).toBe('qbo-sim-client-id');
    expect(loadConfig({ SIMULATORS: 'true', ...real }).simulators).toBe('true');
  });
});

describe('a configuration error at start', () => {
  const tsx = path.resolve(__dirname, '..', 'node_modules', '.bin', 'tsx');
  const root = path.resolve(__dirname, '..');

  /** Runs an entry point with a bad PORT, as an operator would, and returns what it printed. */
  function runWithBadPort(args: string[]) {
    return spawnSync(args[0] as string, args.slice(1), {
      cwd: root,
      env: { ...process.env, PORT: 'eighty', LOG_LEVEL: 'info' },
      encoding: 'utf8',
      timeout: 50_000,
    });
  }

  it.each([
    ['the worker', [tsx, 'workers/worker.ts']],
    ['npm start', [tsx, 'workers/start.ts']],
    ['the API', [tsx, 'workers/api.ts']],
    ['the dev stack', [tsx, 'workers/dev-stack.ts']],
    ['the CLI', [process.execPath, 'bin/sm8qbo.js', 'connections']],
    ['the health check', [tsx, 'infra/healthcheck.ts', 'api']],
  ])(
    'stops %s with one line naming the variable, no stack trace, exit code 1',
    (_, args) => {
      const run = runWithBadPort(args);
      const lines = run.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('sm8qbo: '));
      expect(lines).toEqual([expect.stringMatching(/PORT must be a TCP port \(1-65535\), got "eighty"$/)]);
      expect(run.stderr).not.toMatch(/\bat \S+ \(|node:internal|ConfigError:/);
      expect(run.status).toBe(1);
    },
    60_000,
  );

  it('npm start finds its PORT taken before it starts anything else, and says so', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    const port = (taken.address() as net.AddressInfo).port;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-port-'));
    try {
      const run = await new Promise<{ out: string; code: number | null }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'workers/start.ts'], {
          cwd: root,
          env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' },
        });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (out += c.toString()));
        child.on('exit', (code) => resolve({ out, code }));
      });
      expect(run.code).toBe(1);
      expect(run.out).toContain(`port ${port} on 127.0.0.1 is already in use (PORT)`);
      // Nothing was started before: no simulators, no Temporal dev server, no database.
      expect(run.out).not.toMatch(/Temporal|simulator|PostgreSQL/i);
    } finally {
      taken.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('runMain prints an unexpected failure as its message, with the stack only when LOG_LEVEL=debug', () => {
    const err = new Error('the database refused the connection');
    expect(describeFailure(err, {})).toBe('the database refused the connection');
    expect(describeFailure(err, { LOG_LEVEL: 'debug' })).toMatch(/refused the connection\nError: .*\n\s+at /);
    expect(describeFailure(new ConfigError('PORT', 'must be a TCP port'), { LOG_LEVEL: 'debug' })).toBe(
      'Invalid configuration: PORT must be a TCP port',
    );
  });
});
