/**
 * ServiceM8 API simulator: an in-process HTTP server that behaves like api.servicem8.com closely enough
 * to test a sync against (see README.md for what is and is not faithful).
 */
import { type SimContext, createContext } from './context';
import { SimulatorControl } from './control';
import { type ServiceM8SimulatorOptions } from './options';
import { type ObjectName } from './schemas';
import { buildServer } from './server';
import { type Sm8Record } from './store';
import { SM8_CONTROL_READS, captureSm8State, loadSm8State, sm8StateSpec } from './persistence';
import { StatePersistence, afterEveryCall, readStateFile } from '../state-file';

export { DEMO_SHARED_CUSTOMER_NAMES, VENDOR_UUID, demoUuid } from './seed';
export {
  serviceM8SimulatorOptionsFromEnv,
  DEFAULT_API_KEY,
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
} from './options';
export type { ServiceM8SimulatorOptions, SimSettings } from './options';
export type { SimulatorControl, SimulatorSnapshot, SettingsPatch, World } from './control';
export type { FaultRule, ActiveFaultRule } from './faults';
export type { CallRecord, CallStats } from './calls';
export type { WebhookDelivery, WebhookPayload, WebhookSubscription, WebhookBehaviour } from './webhooks';
export type { TokenResponse } from './auth';
export type { Sm8Record, FieldValue } from './store';
export type { ObjectName } from './schemas';
export type { Sm8State } from './persistence';
export { StateFileError } from '../state-file';
export { OBJECT_NAMES } from './schemas';

/** Read-only view of the simulator's records. */
export interface ServiceM8StoreReader {
  get(object: ObjectName, uuid: string): Sm8Record | undefined;
  list(object: ObjectName): Sm8Record[];
  count(object: ObjectName): number;
}

export interface RunningServiceM8Simulator {
  /** http://HOST:PORT (API at `${url}/api_1.0`). */
  url: string;
  port: number;
  /** Typed mirror of the `/__sim` control API. */
  control: SimulatorControl;
  /** Direct read access to the records. */
  store: ServiceM8StoreReader;
  /**
   * With `stateFile`: resolves once no save is pending (the file then holds every change so far), with the
   * number of saves since start (0 without a state file).
   */
  stateSaved(): Promise<number>;
  /** Stops the server, webhook deliveries and every timer (and saves the state file). */
  stop(): Promise<void>;
}

function storeReader(ctx: SimContext): ServiceM8StoreReader {
  return {
    get: (object, uuid) => ctx.store.get(object, uuid),
    list: (object) => ctx.store.list(object),
    count: (object) => ctx.store.count(object),
  };
}

export async function startServiceM8Simulator(
  options: ServiceM8SimulatorOptions = {},
): Promise<RunningServiceM8Simulator> {
  const ctx = createContext(options);
  const control = new SimulatorControl(ctx);
  const spec = options.stateFile === undefined ? undefined : sm8StateSpec(options.stateFile);
  const saved = spec === undefined ? undefined : readStateFile(spec);
  // A saved world wins over seedDemo: it shaped the world when it was first created.
  control.reset(saved ? 'empty' : undefined);
  if (spec && saved) loadSm8State(ctx, control, spec, saved);
  let persistence: StatePersistence | undefined;
  if (spec) {
    const state = new StatePersistence({
      spec,
      delayMs: options.stateSaveDelayMs ?? 250,
      capture: () => captureSm8State(ctx),
      now: () => ctx.clock.now(),
      report: (error) => process.stderr.write(`${error.message}\n`),
    });
    if (!saved) state.saveNow();
    afterEveryCall(control, SM8_CONTROL_READS, () => state.markDirty());
    ctx.clock.onChange(() => state.markDirty());
    persistence = state;
  }
  const { app, dispose } = buildServer(ctx, control, persistence && (() => persistence?.markDirty()));
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  ctx.baseUrl = url;
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    control,
    store: storeReader(ctx),
    stateSaved: () => persistence?.idle() ?? Promise.resolve(0),
    stop: () => {
      stopped ??= (async () => {
        await ctx.webhooks.stop();
        dispose();
        await app.close();
        persistence?.stop();
      })();
      return stopped;
    },
  };
}
