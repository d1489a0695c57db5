import type { Pool } from 'pg';

export function createHealthActivities(deps: { pool: Pool }) {
  return {
    /** Writes an audit row and reads back the schema version: proves the database round trip. */
    async recordHealthCheck(input: {
      requestedBy: string;
      workflowId: string;
    }): Promise<{ auditId: string; schemaVersion: number }> {
      const inserted = await deps.pool.query<{ id: string }>(
        `INSERT INTO audit_log (actor, action, entity_type, entity_ref, detail)
         VALUES ($1, 'health_check', 'workflow', $2, '{}'::jsonb)
         ON CONFLICT DO NOTHING
         RETURNING id`,
        [input.requestedBy, input.workflowId],
      );
      const version = await deps.pool.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations');
      return { auditId: String(inserted.rows[0]?.id), schemaVersion: Number(version.rows[0]?.v ?? 0) };
    },
  };
}
