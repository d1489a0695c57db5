-- Issue 12: the echo of our own write marks its record for confirmation (cm_dirty_marks.echo) and needs the
-- connection's bulk read (cm-read/<connection>) to be woken once, not once per echo: during onboarding every
-- echo was a Temporal signal, and the signals' queue held approvals back. A router wakes the read only when
-- it arms it here; the read disarms before it takes the marks (so a mark made after that arms it again).
-- An arm older than ECHO_READ_ARM_STALE_MS (store/record-cache.ts) may be taken again: its signal failed,
-- or its process died.
CREATE TABLE cm_read_armed (
  connection_id text PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
  armed_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
