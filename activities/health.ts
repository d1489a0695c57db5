import type { Pool } from 'pg';
import { writeHealthCheckAudit } from '../store/audit';
import { schemaVersion } from '../store/schema';

export function createHealthActivities(deps: { pool: Pool }) {
  return {
    /** Writes an audit row and reads back the schema version: proves the database round trip. */
    async recordHealthCheck(input: {
      requestedBy: string;
      workflowId: string;
    }): Promise<{ auditId: string; schemaVersion: number }> {
      const auditId = await writeHealthCheckAudit(deps.pool, input.requestedBy, input.workflowId);
      return { auditId: String(auditId), schemaVersion: await schemaVersion(deps.pool) };
    },
  };
}
