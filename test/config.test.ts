import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, VARIABLES } from '../infra/config';

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
