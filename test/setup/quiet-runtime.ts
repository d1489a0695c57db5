// Keep the SDK's INFO chatter (worker state changes) out of test output; errors still show (expected activity retries would drown the output).
import { installTemporalRuntime } from '../../infra/temporal-runtime';

installTemporalRuntime('error');
