import { type SimClock } from './clock';
import { type CallLog } from './calls';
import { type ResolvedOptions } from './config';
import { type FaultInjector } from './faults';
import { type OAuthServer } from './oauth';
import { type AccountingService } from './service';
import { type Store } from './store';
import { type Throttle } from './throttle';
import { type WebhookDispatcher } from './webhooks';

/** Everything one running simulator is made of; passed to the HTTP layer and the control API. */
export interface Simulator {
  /** Mutable: the control API can flip switches at run time. */
  options: ResolvedOptions;
  clock: SimClock;
  store: Store;
  service: AccountingService;
  oauth: OAuthServer;
  throttle: Throttle;
  webhooks: WebhookDispatcher;
  faults: FaultInjector;
  calls: CallLog;
}
