-- Issue 12/13: an event about a ServiceM8 record no link claims (a client, contact or material that has not
-- gone to QuickBooks yet) wakes nobody, but a copy of that record may sit in cm_record_cache (onboarding's
-- candidate lists, a poll's lists, an export that was held). This row makes such a copy stale, as a dirty
-- mark does for a linked record, so the next export reads the record instead of sending an old name, price
-- or email. record_id '*' with object 'company-contacts': a contact of an unknown company changed, so no
-- cached contact list older than it counts as whole. One row per record (the newest event's time).
CREATE TABLE cm_stale_copies (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  side          text NOT NULL CHECK (side IN ('sm8', 'qbo')),
  object        text NOT NULL,
  record_id     text NOT NULL,
  marked_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (connection_id, side, object, record_id)
);
