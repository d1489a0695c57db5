/**
 * All activities, built from injected dependencies (Temporal's activities-dependency-injection pattern).
 * Workflows type their proxies with `Activities` through a type-only import.
 */
import type { Pool } from 'pg';
import { createHealthActivities } from './health';

export interface ActivityDeps {
  pool: Pool;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createHealthActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
