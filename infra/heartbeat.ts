/**
 * The worker's liveness for container health checks: while its Temporal worker is running it touches a file
 * every HEARTBEAT_INTERVAL_MS; the check (infra/healthcheck.ts) calls it dead once the file is older than
 * HEARTBEAT_STALE_MS. A file, not a port: the worker serves nothing, and this needs no Temporal SDK to read.
 */
import fs from 'node:fs';

export const HEARTBEAT_INTERVAL_MS = 10_000;
/** Three missed beats: one slow beat on a loaded machine is not a dead worker. */
export const HEARTBEAT_STALE_MS = 3 * HEARTBEAT_INTERVAL_MS;

/**
 * Touches `file` now and every interval while `alive()` holds; returns the function that stops it. A file
 * that cannot be written is reported through `onError` (once per distinct reason), not thrown: the worker
 * keeps syncing, and the missing heartbeat makes the health check say so.
 */
export function startHeartbeat(
  file: string,
  alive: () => boolean,
  onError: (message: string) => void,
  intervalMs = HEARTBEAT_INTERVAL_MS,
): () => void {
  let lastError = '';
  const beat = () => {
    if (!alive()) return;
    try {
      fs.writeFileSync(file, `${new Date().toISOString()}\n`);
      lastError = '';
    } catch (err) {
      const message = `cannot write the heartbeat file ${file} (${(err as Error).message}): the health check will call this worker unhealthy`;
      if (message !== lastError) onError(message);
      lastError = message;
    }
  };
  beat();
  const timer = setInterval(beat, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    try {
      fs.rmSync(file, { force: true });
    } catch {
      // left behind: it goes stale, which the health check reads as stopped
    }
  };
}

/** Undefined when the heartbeat is fresh, else why the worker counts as unhealthy. */
export function heartbeatProblem(
  file: string,
  now = Date.now(),
  staleMs = HEARTBEAT_STALE_MS,
): string | undefined {
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch {
    return `no heartbeat file ${file}: the worker is not polling Temporal (yet)`;
  }
  const age = now - mtimeMs;
  if (age > staleMs)
    return `the heartbeat ${file} is ${Math.round(age / 1000)} s old: the worker stopped polling`;
  return undefined;
}
