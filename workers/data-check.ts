/**
 * What `npm start` checks before it runs on data an earlier start left: every stored secret opens with this
 * DATA_DIR's key (or ENCRYPTION_KEYS), and the demo's database and the simulators' saved worlds belong
 * together. A mismatch stops the start with one line that says what was found and what to do, instead of a
 * demo that fails record by record (invoices turning DELETED_IN_QBO, unique-key loops).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ConnectionStore } from '../store/connections';

export interface DataCheckInput {
  store: ConnectionStore;
  /** The database's name as printed to the user. */
  database: string;
  dataDir: string;
  /** ENCRYPTION_KEYS is set (else the key is DATA_DIR/encryption.key). */
  keysFromEnv: boolean;
  /** The demo's simulators run; `simState` is what DATA_DIR held before they started. */
  demo?: { connectionId: string; simState: 'both' | 'none' | 'partial' };
}

/** Where a running `npm start` leaves its pid (so reset, and a second start, can tell it runs). */
export function pidFile(dataDir: string): string {
  return path.join(dataDir, 'start.pid');
}

/** The pid of a living `npm start` on this DATA_DIR, if any. */
export function runningStart(dataDir: string): number | undefined {
  const file = pidFile(dataDir);
  const pid = Number(fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : NaN);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

const RESET = 'run `npm run reset` to start a clean demo';

/** The problem in one line, or undefined when the data can be used. */
export async function checkStoredData(input: DataCheckInput): Promise<string | undefined> {
  const keySource = input.keysFromEnv
    ? 'ENCRYPTION_KEYS'
    : `the key in ${path.join(input.dataDir, 'encryption.key')}`;
  for (const c of await input.store.list()) {
    if (c.status === 'disconnected') continue;
    try {
      if (c.qboRealmId) await input.store.readQboTokens(c.id);
      if (c.sm8AuthKind) await input.store.readSm8Credentials(c.id);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return (
        `The database ${input.database} holds connection "${c.id}", whose stored tokens do not open with ` +
        `${keySource} (${why}): restore the key it was made with${input.demo ? `, or ${RESET}` : ''}.`
      );
    }
  }
  if (!input.demo) return undefined;
  const connected = (await input.store.get(input.demo.connectionId))?.qboRealmId != null;
  const stateDir = path.join(input.dataDir, 'simulators');
  if (input.demo.simState === 'partial')
    return `Only one of the simulators' saved worlds is in ${stateDir}: the demo cannot continue; ${RESET}.`;
  if (connected && input.demo.simState === 'none')
    return (
      `The database ${input.database} holds the demo connection "${input.demo.connectionId}", but the ` +
      `simulators' saved worlds (${stateDir}) are gone, so its records would look deleted; ${RESET}.`
    );
  if (!connected && input.demo.simState === 'both')
    return (
      `The simulators' saved worlds (${stateDir}) come from an earlier demo, but the database ` +
      `${input.database} has no demo connection "${input.demo.connectionId}"; ${RESET}.`
    );
  return undefined;
}
