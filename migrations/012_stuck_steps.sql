-- Issue 13, "nothing retries silently": every failed attempt of a retried activity is counted here, per
-- workflow and activity type, with the failure in words a bookkeeper understands. A step that keeps failing
-- (domain/stuck.ts says when) is shown as stuck: CLI, admin API, status page, show. A success deletes the row.
CREATE TABLE stuck_steps (
  id              bigserial PRIMARY KEY,
  connection_id   text NOT NULL,
  workflow_id     text NOT NULL,
  activity_type   text NOT NULL,
  activity_id     text NOT NULL,
  attempts        integer NOT NULL,
  first_failed_at timestamptz NOT NULL DEFAULT now(),
  last_failed_at  timestamptz NOT NULL DEFAULT now(),
  failure_type    text NOT NULL,
  technical       text NOT NULL,
  dismissed_at    timestamptz,
  UNIQUE (workflow_id, activity_type)
);
CREATE INDEX stuck_steps_connection ON stuck_steps (connection_id, last_failed_at);
