-- Clients and materials (CM-1 … CM-10) and onboarding progress (OPS-2).
--
-- onboarding: one row per onboarding run of a connection. A run that never finished (worker or workflow
-- gone) is resumed by the next start instead of starting over; a finished one is followed by a new run.
CREATE TABLE onboarding_runs (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  run           integer NOT NULL,
  state         text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done')),
  -- Who started it: 'connect' (the connection became complete) or 'admin' (API/CLI).
  started_by    text NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  PRIMARY KEY (connection_id, run)
);

-- Progress of one phase (taxcodes, customers, items) of a run; `next_position` is the QuickBooks
-- STARTPOSITION of the next page to import (the resume cursor).
CREATE TABLE onboarding_phases (
  connection_id text NOT NULL,
  run           integer NOT NULL,
  phase         text NOT NULL CHECK (phase IN ('taxcodes', 'customers', 'items')),
  state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done')),
  total         integer,
  next_position integer NOT NULL DEFAULT 1,
  -- Counts a phase reports on its own (the tax code sync's created/updated/deactivated/unchanged).
  detail        jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, run, phase),
  FOREIGN KEY (connection_id, run) REFERENCES onboarding_runs (connection_id, run) ON DELETE CASCADE
);

-- What happened to each QuickBooks record of a phase: written once (first outcome wins), so a page that
-- is retried after a crash neither counts a record twice nor turns "created" into "linked".
CREATE TABLE onboarding_records (
  connection_id text NOT NULL,
  run           integer NOT NULL,
  phase         text NOT NULL,
  qbo_id        text NOT NULL,
  outcome       text NOT NULL CHECK (outcome IN ('created', 'linked', 'skipped')),
  reason        text,
  sm8_uuid      text,
  at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, run, phase, qbo_id),
  FOREIGN KEY (connection_id, run) REFERENCES onboarding_runs (connection_id, run) ON DELETE CASCADE
);

-- CM-9: the mapped field values of a linked customer/item as last synced (the common ancestor of a
-- two-sided edit), and when each side last changed as we saw it.
ALTER TABLE links ADD COLUMN synced_fields jsonb;

-- ServiceM8 contacts of linked companies: a contact event (CM-2: an email edited in ServiceM8 is a contact
-- edit) finds the owner of its company's link here, without reading ServiceM8 while routing.
CREATE TABLE cm_contacts (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  contact_uuid  text NOT NULL,
  link_id       bigint NOT NULL REFERENCES links (id) ON DELETE CASCADE,
  PRIMARY KEY (connection_id, contact_uuid)
);
