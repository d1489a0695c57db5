/**
 * The simulator's parts, wired once per instance and shared by the HTTP layer and the control handle.
 */
import { AuthService } from './auth';
import { CallLog } from './calls';
import { SimClock } from './clock';
import { FaultInjector } from './faults';
import { type ServiceM8SimulatorOptions, type SimSettings, resolveSettings } from './options';
import { RateLimiter } from './ratelimit';
import { RecordService } from './records';
import { Store } from './store';
import { WebhookService } from './webhooks';

export interface SimContext {
  settings: SimSettings;
  clock: SimClock;
  store: Store;
  records: RecordService;
  auth: AuthService;
  limiter: RateLimiter;
  faults: FaultInjector;
  webhooks: WebhookService;
  calls: CallLog;
  random: () => number;
  /** The URL clients use (set once listening). */
  baseUrl: string;
  seedDemo: boolean;
}

export function createContext(options: ServiceM8SimulatorOptions): SimContext {
  const settings = resolveSettings(options);
  const clock = new SimClock(options.now);
  const store = new Store();
  const random = options.random ?? Math.random;
  const context: SimContext = {
    settings,
    clock,
    store,
    records: new RecordService({
      store,
      clock,
      get timeZone() {
        return context.settings.timeZone;
      },
      get uniqueEditDates() {
        return context.settings.uniqueEditDates;
      },
      get rejectNegativeLines() {
        return context.settings.rejectNegativeLines;
      },
    }),
    auth: new AuthService(() => context.settings, clock),
    limiter: new RateLimiter(() => context.settings, clock),
    faults: new FaultInjector(random),
    webhooks: new WebhookService(
      clock,
      () => context.settings,
      () => options.publicUrl ?? context.baseUrl,
      random,
    ),
    calls: new CallLog(),
    random,
    baseUrl: '',
    seedDemo: options.seedDemo ?? false,
  };
  return context;
}
