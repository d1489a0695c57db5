/**
 * The Node version the README and package.json promise is one every installed package accepts, so
 * `npm ci` prints no EBADENGINE; and fastify's inject (which the API tests use) still works with the
 * cookie version pinned for that (package.json `overrides`).
 */
import fs from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import semver from 'semver';

const ROOT = path.resolve(__dirname, '..');
const json = (file: string) =>
  JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, unknown>;

describe('supported Node versions', () => {
  const engines = (json('package.json').engines as { node: string }).node;
  const oldest = semver.minVersion(engines)?.version ?? '';

  it('promises Node 20', () => {
    expect(oldest).toMatch(/^20\./);
    expect(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain(
      `Node ${oldest.replace(/\.0$/, '')}`,
    );
  });

  it('is accepted by every package in package-lock.json (no EBADENGINE on npm ci)', () => {
    const packages = json('package-lock.json').packages as Record<string, { engines?: { node?: string } }>;
    const refusing = Object.entries(packages)
      .filter(([, p]) => typeof p.engines?.node === 'string' && !semver.satisfies(oldest, p.engines.node))
      .map(([name, p]) => `${name.replace(/^.*node_modules\//, '')} wants node ${p.engines?.node}`);
    expect(refusing).toEqual([]);
  });

  it("keeps fastify's inject working with cookies (light-my-request on cookie 1.x)", async () => {
    const app = Fastify();
    app.get('/echo', async (req) => ({ cookie: req.headers.cookie ?? null }));
    const res = await app.inject({ method: 'GET', url: '/echo', cookies: { session: 'a b', id: '7' } });
    expect(res.json()).toEqual({ cookie: 'session=a%20b; id=7' });
    await app.close();
  });
});
