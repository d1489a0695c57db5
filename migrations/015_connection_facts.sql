-- Issue 12 (API budget economy), invoices and payments at their minimum cost.
--
-- connection_facts: what an export needs to know about a connection that is not the job itself (QuickBooks'
-- tax model and tax codes with their rates, ServiceM8's tax rates, the income account of new items, the
-- payment methods), cached with a version instead of read per export. The tax poll refreshes it, and an
-- export refreshes it on a miss (a tax rate it does not know) or a refusal.
CREATE TABLE connection_facts (
  connection_id text PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
  version       integer NOT NULL DEFAULT 1,
  facts         jsonb NOT NULL DEFAULT '{}'::jsonb,
  refreshed_at  timestamptz NOT NULL DEFAULT now()
);

-- own_writes: what the sync itself wrote to a job, invoice or payment and what the write answered
-- (QuickBooks: the whole object with SyncToken and LastUpdatedTime; ServiceM8: the fields sent and the
-- record's uuid). The owner then needs no read-back, and an event that only reports our own write (inside
-- the echo window) is dropped by the router without a call. `intent` rows are written before a create, so
-- a retry knows a create may already have happened and looks for its marker first.
CREATE TABLE own_writes (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  side          text NOT NULL CHECK (side IN ('sm8', 'qbo')),
  entity        text NOT NULL,
  record_id     text NOT NULL,
  fields        text[] NOT NULL DEFAULT '{}',
  answer        jsonb,
  sync_token    text,
  last_updated  text,
  written_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, side, entity, record_id)
);

-- The number of passes an invoice owner made, kept across runs: an owner now ends when it has nothing to
-- watch (a job that is only created), and the next event starts a new run that counts on.
ALTER TABLE invoice_exports ADD COLUMN syncs integer NOT NULL DEFAULT 0;

-- payment_views: the payments of one job's invoice as last read or written, per side and record, so a
-- payments owner reads only the side an event names (PAY-1 … PAY-6). A side is `known` after a full read;
-- `dirty` asks for a full read again (an event the router could not describe).
CREATE TABLE payment_views (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  job_uuid      text NOT NULL,
  side          text NOT NULL CHECK (side IN ('sm8', 'qbo')),
  record_id     text NOT NULL,
  view          jsonb NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (connection_id, job_uuid, side, record_id)
);
CREATE TABLE payment_sides (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  job_uuid      text NOT NULL,
  side          text NOT NULL CHECK (side IN ('sm8', 'qbo')),
  known         boolean NOT NULL DEFAULT false,
  dirty         boolean NOT NULL DEFAULT true,
  marked_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (connection_id, job_uuid, side)
);
