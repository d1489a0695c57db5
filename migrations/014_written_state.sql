-- Issue 12, clients and materials (CM-1, CM-2): what we wrote, what we read, and what is waiting to be read.
--
-- cm_written_state: our last write to one customer or item record on either side: what we sent and what the
-- write answered (ServiceM8: the x-record-uuid; QuickBooks: the whole object, with its SyncToken and
-- LastUpdatedTime). An event about that record inside the echo window is our own write coming back: it is
-- dropped without an API call and confirmed by the next bulk read (cm_dirty_marks.echo).
CREATE TABLE cm_written_state (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  side          text NOT NULL CHECK (side IN ('sm8', 'qbo')),
  -- ServiceM8 object (company, companycontact, material) or QuickBooks entity (Customer, Item).
  object        text NOT NULL,
  record_id     text NOT NULL,
  sent          jsonb NOT NULL,
  answer        jsonb,
  sync_token    text,
  last_updated  text,
  written_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (connection_id, side, object, record_id)
);

-- cm_record_cache: the newest copy of one record we hold (read by a bulk read or an owner, or what our own
-- write made of it), keyed by record, with its edit time (ServiceM8 edit_date, QuickBooks LastUpdatedTime).
-- Owners read it before the API. `object` 'company-contacts' holds no record: its row says the cache holds
-- every contact of that company (record_id), so the owner need not list them.
CREATE TABLE cm_record_cache (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  side          text NOT NULL CHECK (side IN ('sm8', 'qbo')),
  object        text NOT NULL,
  record_id     text NOT NULL,
  -- For ServiceM8 contacts: their company, so a company's contacts are one look-up.
  parent_id     text,
  edit_time     text,
  record        jsonb NOT NULL,
  stored_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (connection_id, side, object, record_id)
);
CREATE INDEX cm_record_cache_parent ON cm_record_cache (connection_id, object, parent_id)
  WHERE parent_id IS NOT NULL;

-- cm_dirty_marks: records an event said changed, waiting for the connection's bulk read (cm-read/<connection>).
-- `echo`: the event looked like our own write and woke nobody; the bulk read only confirms it.
CREATE TABLE cm_dirty_marks (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  side          text NOT NULL CHECK (side IN ('sm8', 'qbo')),
  object        text NOT NULL,
  record_id     text NOT NULL,
  echo          boolean NOT NULL,
  marked_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (connection_id, side, object, record_id)
);
