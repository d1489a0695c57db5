/**
 * The containers' HEALTHCHECK (Dockerfile, docker-compose.yml): `node dist/infra/healthcheck.js api` asks the
 * API's GET /health (200 only when PostgreSQL and Temporal answer); `… worker` reads the worker's heartbeat
 * file (WORKER_HEARTBEAT_FILE). Exit 0 healthy, 1 not, with one line saying why. Loads no Temporal SDK: it
 * runs every few seconds.
 */
import { loadConfig } from './config';
import { heartbeatProblem } from './heartbeat';
import { runMain } from './main';

export async function checkHealth(
  role: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const config = loadConfig(env);
  if (role === 'worker') {
    if (!config.workerHeartbeatFile)
      return 'WORKER_HEARTBEAT_FILE is not set: the worker writes no heartbeat to check';
    return heartbeatProblem(config.workerHeartbeatFile);
  }
  if (role === 'api') {
    const url = `http://127.0.0.1:${config.port}/health`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      return res.ok ? undefined : `${url} answered ${res.status}: ${await res.text()}`;
    } catch (err) {
      return `${url} did not answer: ${(err as Error).message}`;
    }
  }
  return `usage: healthcheck.js api|worker (got "${role ?? ''}")`;
}

if (require.main === module) {
  runMain(async () => {
    const problem = await checkHealth(process.argv[2]);
    if (problem) process.stderr.write(`unhealthy: ${problem}\n`);
    return problem ? 1 : 0;
  });
}
