-- Observability (issue 14): when the sync first saw a job approved, so the latency from approval to export
-- can be measured (client/metrics.ts, the status page). One row per job, written once by the invoice
-- activity that reads the job (ON CONFLICT DO NOTHING): a later re-approval keeps the first sighting.
CREATE TABLE invoice_approvals (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  job_uuid      text NOT NULL,
  seen_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, job_uuid)
);
-- Recent exports (status page) and the latency histogram read exported rows newest first.
CREATE INDEX invoice_exports_exported_at ON invoice_exports (exported_at) WHERE exported_at IS NOT NULL;
