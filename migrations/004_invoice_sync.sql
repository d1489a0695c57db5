-- INV-3: one ServiceM8 job-diary note per distinct reason (and per INV-10 event) for a job.
CREATE TABLE job_notes (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  job_uuid      text NOT NULL,
  note_key      text NOT NULL,
  note_uuid     text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, job_uuid, note_key)
);

-- Connection-level facts the invoice sync needs and may cache (income account, tax model).
ALTER TABLE invoice_exports ADD COLUMN last_synced_total_cents bigint;
ALTER TABLE invoice_exports ADD COLUMN qbo_sync_token text;
