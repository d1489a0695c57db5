-- Issue 12: priority inheritance for a job's own look. An approval's webhook marks its job here; a look of
-- that job already running in a lower lane (the first poll's look at every job of the account, say) takes
-- the mark between its steps and makes its remaining calls in the interactive lane, so the approval waits
-- for that look's few calls at the approval's priority, not behind the whole live lane.
CREATE TABLE invoice_look_wanted (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  job_uuid      text NOT NULL,
  wanted_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (connection_id, job_uuid)
);
