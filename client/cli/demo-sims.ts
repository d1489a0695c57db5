/**
 * The two simulators as the demo commands see them: the ServiceM8 simulator's API (with the key its control
 * API reports) and both control APIs (`/__sim`). Only simulators: a URL without a `/__sim` control API, or
 * SIMULATORS=false, is refused before anything is sent. Never the product's own database or workflows.
 */
import axios, { isAxiosError, type AxiosInstance } from 'axios';
// Only the option readers (no server code): the ports npm start gives the simulators, read as they read them.
import { quickBooksSimulatorOptionsFromEnv } from '../../simulators/quickbooks/config';
import { serviceM8SimulatorOptionsFromEnv } from '../../simulators/servicem8/options';
import { CliError, ExitCode, type CliContext } from './context';

export type Rec = Record<string, unknown>;

export interface DemoOptions {
  sm8Url?: string;
  qboUrl?: string;
  realm?: string;
  /** false: do not wait for the sync to carry the change over. */
  wait: boolean;
  /** Seconds to wait for the sync (default 180). */
  timeout?: string;
}

export interface Sm8Sim {
  url: string;
  /** The ServiceM8 API (`/api_1.0`), authenticated with the simulator's key. */
  api: AxiosInstance;
  /** The control API (`/__sim`): reads here do not use up the API's per-minute budget. */
  control: AxiosInstance;
}

export interface QboSim {
  url: string;
  control: AxiosInstance;
  /** `?realmId=` for control calls (empty: the simulator's own company, the demo's). */
  realmParams: Record<string, string>;
}

/** Network errors that mean "nothing answers at that address". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

function local(host: string | undefined): string {
  return !host || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

/** A failed simulator call as one sentence (which program said what). */
function simFailure(name: string, err: unknown): unknown {
  if (!isAxiosError(err)) return err;
  const status = err.response?.status;
  if (status === undefined)
    return new CliError(ExitCode.failure, `the ${name} simulator failed: ${err.message}`);
  const body = err.response?.data as Rec | string | undefined;
  const said =
    typeof body === 'object' && body !== null
      ? String(body.message ?? body.error ?? JSON.stringify(body.Fault ?? body))
      : String(body ?? '');
  return new CliError(
    status === 404 ? ExitCode.notFound : ExitCode.failure,
    `the ${name} simulator answered ${status}${said ? `: ${said}` : ''}`,
  );
}

function withErrors(name: string, instance: AxiosInstance): AxiosInstance {
  instance.interceptors.response.use(undefined, (err: unknown) => Promise.reject(simFailure(name, err)));
  return instance;
}

/** Asks `url/__sim/<probe>`; a CliError unless a simulator answers there. */
async function probeSimulator(name: string, url: string, probe: string, hint: string): Promise<Rec> {
  try {
    const res = await axios.get<Rec>(`${url}/__sim/${probe}`, { timeout: 5000, validateStatus: () => true });
    if (res.status === 200 && typeof res.data === 'object' && res.data !== null) return res.data;
  } catch (err) {
    if (isAxiosError(err) && err.code && UNREACHABLE.has(err.code))
      throw new CliError(
        ExitCode.failure,
        `cannot reach the ${name} simulator at ${url}: the demo commands need \`npm start\` running with the simulators (or \`npm run sim\`); set ${hint}`,
      );
    throw simFailure(name, err);
  }
  throw new CliError(
    ExitCode.failure,
    `${url} is not the ${name} simulator (no /__sim control API there): the demo commands only drive the simulators, never the real ${name}`,
  );
}

/** Finds and checks the simulators on first use. */
export function demoSims(ctx: CliContext, opts: () => DemoOptions) {
  let sm8: Promise<Sm8Sim> | undefined;
  let qbo: Promise<QboSim> | undefined;
  const env = () => ctx.io.env ?? process.env;
  const refuseRealMode = () => {
    if (ctx.config().simulators === 'false')
      throw new CliError(
        ExitCode.usage,
        'SIMULATORS=false is real mode: the demo commands only drive the simulators, never the real ServiceM8 and QuickBooks',
      );
  };
  return {
    sm8(): Promise<Sm8Sim> {
      sm8 ??= (async () => {
        refuseRealMode();
        const o = configured(() => serviceM8SimulatorOptionsFromEnv(env()));
        const url = (opts().sm8Url ?? `http://${local(o.host)}:${o.port}`).replace(/\/+$/, '');
        const settings = await probeSimulator('ServiceM8', url, 'settings', '--sm8-url or SM8_SIM_PORT');
        if (typeof settings.apiKey !== 'string')
          throw new CliError(
            ExitCode.failure,
            `${url} is not the ServiceM8 simulator (its /__sim/settings has no key)`,
          );
        return {
          url,
          api: withErrors(
            'ServiceM8',
            axios.create({
              baseURL: `${url}/api_1.0`,
              headers: { 'X-Api-Key': settings.apiKey },
              timeout: 30_000,
            }),
          ),
          control: withErrors('ServiceM8', axios.create({ baseURL: `${url}/__sim`, timeout: 30_000 })),
        };
      })();
      return sm8;
    },
    qbo(): Promise<QboSim> {
      qbo ??= (async () => {
        refuseRealMode();
        const o = configured(() => quickBooksSimulatorOptionsFromEnv(env()));
        const url = (opts().qboUrl ?? `http://${local(o.host)}:${o.port}`).replace(/\/+$/, '');
        await probeSimulator('QuickBooks', url, 'clock', '--qbo-url or QBO_SIM_PORT');
        const realm = opts().realm;
        return {
          url,
          control: withErrors('QuickBooks', axios.create({ baseURL: `${url}/__sim`, timeout: 30_000 })),
          realmParams: realm ? { realmId: realm } : ({} as Record<string, string>),
        };
      })();
      return qbo;
    },
  };
}
export type DemoSims = ReturnType<typeof demoSims>;

function configured<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new CliError(ExitCode.failure, `Invalid configuration: ${(err as Error).message}`);
  }
}

/** The default wait: right after an onboarding the ServiceM8 budget is busy for a few minutes. */
const DEFAULT_TIMEOUT_S = 180;
/** A wait longer than this says so on stderr (a normal sync takes about a second). */
const NOTICE_AFTER_MS = 3000;

/**
 * Waits for the sync to carry a change over: reads `probe` until it yields a value, at most `--timeout`
 * seconds. The wait is the point of these commands: the change travels by webhook to the other program.
 */
export async function waitFor<T>(
  ctx: CliContext,
  opts: DemoOptions,
  what: string,
  hint: string,
  probe: () => Promise<T | null | undefined>,
): Promise<{ value: T; seconds: string }> {
  const timeout = opts.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(opts.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new CliError(ExitCode.usage, `--timeout takes a number of seconds, got "${opts.timeout}"`);
  const started = Date.now();
  let noticed = false;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined)
      return { value, seconds: ((Date.now() - started) / 1000).toFixed(1) };
    const waited = Date.now() - started;
    if (waited > timeout * 1000)
      throw new CliError(
        ExitCode.failure,
        `still waiting for ${what} after ${timeout} s (the change itself is made): ${hint}`,
      );
    if (!noticed && waited > NOTICE_AFTER_MS) {
      noticed = true;
      (ctx.io.err ?? ((s: string) => process.stderr.write(`${s}\n`)))(
        `waiting for ${what} (up to ${timeout} s; right after an onboarding the sync waits its turn for ServiceM8's 180 calls a minute)`,
      );
    }
    await new Promise((r) => setTimeout(r, ctx.io.pollIntervalMs ?? 250));
  }
}

/** ServiceM8 money ("25.5000") or QuickBooks money (25.5) in cents. */
export function cents(v: unknown): number {
  return Math.round(Number(v ?? 0) * 100);
}

/** An amount typed on the command line ("25", "25.50"), as ServiceM8 and QuickBooks take it. */
export function amountArg(name: string, v: string): string {
  if (!/^\d+(\.\d{1,2})?$/.test(v))
    throw new CliError(ExitCode.usage, `${name} must be an amount like 25 or 25.50, got "${v}"`);
  return v;
}
