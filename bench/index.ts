/** `npm run bench`: the benchmarks (docs/benchmarks.md). Arguments are passed on, e.g. `npm run bench -- --seconds 90`. */
import { runGovernorBench } from './governor';

void runGovernorBench(process.argv.slice(2)).then((code) => process.exit(code));
