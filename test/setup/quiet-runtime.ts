// Keep the SDK's INFO chatter (worker state changes) out of test output; warnings and errors still show.
import { installTemporalRuntime } from '../../infra/temporal-runtime';

installTemporalRuntime('warn');
