/**
 * Saving a simulator's world to a JSON file and loading it on the next start (for the demo: stop the stack,
 * start it again, and the same records, tokens and ids are still there). Shared by both simulators.
 *
 * The file is `{"format": "<simulator>-state", "version": N, "savedAt": ISO, "state": {...}}`. It is written
 * atomically (a temporary file in the same directory, flushed, then renamed over the old one), so a crash
 * mid-write leaves the previous world intact. Saves are debounced: the first change after a save schedules
 * the next one `delayMs` later, and stop() saves whatever is pending.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/** A state file that cannot be used; the message names the file and says what to do. */
export class StateFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateFileError';
  }
}

export interface StateFileSpec {
  path: string;
  /** e.g. "qbo-simulator-state". */
  format: string;
  version: number;
  /** e.g. "QuickBooks simulator", for messages. */
  describe: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The saved state, or undefined when the file does not exist yet. */
export function readStateFile(spec: StateFileSpec): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(spec.path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(
      `Cannot read the ${spec.describe} state file ${spec.path}: ${(error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StateFileError(
      `The ${spec.describe} state file ${spec.path} is not valid JSON (${(error as Error).message}). ` +
        'Restore a good copy, or delete it to start from a fresh world.',
    );
  }
  if (!isObject(json) || json.format !== spec.format) {
    throw new StateFileError(
      `The file ${spec.path} is not a ${spec.describe} state file (it lacks "format": "${spec.format}"). ` +
        'Point the simulator at another path, or delete the file to start from a fresh world.',
    );
  }
  if (json.version !== spec.version) {
    throw new StateFileError(
      `The ${spec.describe} state file ${spec.path} has version ${JSON.stringify(json.version)}; this simulator ` +
        `reads version ${spec.version}. Delete it to start from a fresh world.`,
    );
  }
  if (!isObject(json.state)) {
    throw new StateFileError(`The ${spec.describe} state file ${spec.path} has no "state" object.`);
  }
  return json.state;
}

/** Writes the file so that readers only ever see the old or the new version, never half of one. */
export function writeStateFile(spec: StateFileSpec, state: unknown, savedAt: string): void {
  mkdirSync(dirname(spec.path), { recursive: true });
  const temporary = `${spec.path}.${process.pid}.tmp`;
  const body = JSON.stringify({ format: spec.format, version: spec.version, savedAt, state });
  try {
    const fd = openSync(temporary, 'w');
    try {
      writeSync(fd, body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, spec.path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new StateFileError(
      `Cannot save the ${spec.describe} state file ${spec.path}: ${(error as Error).message}`,
    );
  }
}

/** Wraps a loading step so that any failure names the file. */
export function loadingFrom<T>(spec: StateFileSpec, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof StateFileError) throw error;
    throw new StateFileError(
      `The ${spec.describe} state file ${spec.path} could not be loaded (${(error as Error).message}). ` +
        'It may come from another version of the simulator; delete it to start from a fresh world.',
    );
  }
}

export interface PersistenceOptions {
  spec: StateFileSpec;
  delayMs: number;
  /** The state to save, as plain JSON-able data. */
  capture: () => unknown;
  /** The simulated time, for `savedAt`. */
  now: () => Date;
  /** Where a failed debounced save is reported (nothing fails silently). */
  report: (error: Error) => void;
}

/** Debounced, atomic saving of one simulator's state. */
export class StatePersistence {
  private timer: NodeJS.Timeout | undefined;
  private waiters: Array<(saves: number) => void> = [];
  private stopped = false;
  saves = 0;

  constructor(private readonly options: PersistenceOptions) {}

  /** Something changed: save within `delayMs` (changes meanwhile ride along). */
  markDirty(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.saveNow();
      } catch (error) {
        this.options.report(error as Error);
      }
    }, this.options.delayMs);
  }

  saveNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      writeStateFile(this.options.spec, this.options.capture(), this.options.now().toISOString());
      this.saves++;
    } finally {
      const waiters = this.waiters;
      this.waiters = [];
      for (const resolve of waiters) resolve(this.saves);
    }
  }

  /** Resolves once no save is pending (immediately when none is), with the number of saves so far. */
  idle(): Promise<number> {
    if (!this.timer) return Promise.resolve(this.saves);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Saves what is pending (always, so the file reflects the world at stop) and stops saving. */
  stop(): void {
    if (this.stopped) return;
    this.saveNow();
    this.stopped = true;
  }
}

/**
 * Calls `after` after every method call on `target` (its class methods and the functions of its plain-object
 * members, like `control.clock.advance`), so in-process control calls count as changes too. `reads` names the
 * calls that change nothing (`"now"`, `"clock.now"`), which are left alone.
 */
export function afterEveryCall(target: object, reads: ReadonlySet<string>, after: () => void): void {
  const wrap =
    (fn: (...args: unknown[]) => unknown) =>
    (...args: unknown[]): unknown => {
      const result = fn(...args);
      if (result instanceof Promise) return result.finally(after);
      after();
      return result;
    };
  const record = target as Record<string, unknown>;
  const proto = Object.getPrototypeOf(target) as object;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const value = record[name];
    if (name !== 'constructor' && !reads.has(name) && typeof value === 'function')
      record[name] = wrap((value as (...args: unknown[]) => unknown).bind(target));
  }
  for (const [handle, value] of Object.entries(record)) {
    if (!isObject(value) || Object.getPrototypeOf(value) !== Object.prototype) continue;
    const members = Object.entries(value);
    // Only handles made of functions (clock, faults, …); the simulator's own context is left alone.
    if (members.length === 0 || !members.every(([, member]) => typeof member === 'function')) continue;
    for (const [key, member] of members) {
      if (!reads.has(`${handle}.${key}`)) value[key] = wrap(member as (...args: unknown[]) => unknown);
    }
  }
}
