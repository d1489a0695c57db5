// Keep the SDK's INFO chatter (worker state changes) out of test output; errors still show (expected activity retries would drown the output).
import { installTemporalRuntime } from '../../infra/temporal-runtime';

// Core logs are not forwarded: that handle would keep jest from exiting after an in-band run.
installTemporalRuntime('error', { forwardCoreLogs: false });
