import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { VARIABLES } from '../infra/config';
import { devServerArgs } from '../infra/temporal-server';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

interface Service {
  command?: string[];
  environment?: Record<string, string>;
  build?: string;
}
const compose = parse(fs.readFileSync(path.resolve(__dirname, '..', 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as { services: Record<string, Service> };

describe('docker-compose.yml stays consistent with the code', () => {
  it('has PostgreSQL, Temporal, the Temporal UI, the worker and the API', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'api',
      'postgres',
      'temporal',
      'temporal-ui',
      'worker',
    ]);
  });

  it.each(['worker', 'api'])('%s only sets variables the code reads', (name) => {
    const env = Object.keys(compose.services[name]?.environment ?? {});
    expect(env.length).toBeGreaterThan(0);
    expect(env.filter((v) => !(v in VARIABLES))).toEqual([]);
  });

  it('registers exactly the search attributes the workflows use, like the dev server does', () => {
    const args = compose.services.temporal?.command ?? [];
    const registered = args.filter((_, i) => args[i - 1] === '--search-attribute').sort();
    const expected = SEARCH_ATTRIBUTES.map((k) => `${k.name}=Keyword`).sort();
    expect(registered).toEqual(expected);
    const dev = devServerArgs({ cliPath: 'temporal', port: 1 });
    expect(dev.filter((_, i) => dev[i - 1] === '--search-attribute').sort()).toEqual(expected);
  });

  it('runs worker and API from the same build with npm scripts that exist', () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const name of ['worker', 'api']) {
      const cmd = compose.services[name]?.command ?? [];
      expect(cmd.slice(0, 2)).toEqual(['npm', 'run']);
      expect(pkg.scripts[cmd[2] ?? '']).toBeDefined();
      expect(compose.services[name]?.build).toBe('.');
    }
  });
});
