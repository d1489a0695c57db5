-- Initial schema. Secrets are never stored in clear: *_secret columns hold AES-256-GCM envelopes
-- ("v1.<key id>.<iv>.<tag>.<ciphertext>", base64url) so that keys can be rotated by key id.

CREATE TABLE connections (
  id                  text PRIMARY KEY,
  name                text NOT NULL,
  status              text NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'paused', 'needs_reauth', 'disconnected')),
  status_reason       text,
  sm8_auth_kind       text CHECK (sm8_auth_kind IN ('api_key', 'oauth')),
  sm8_account_uuid    text,
  sm8_secret          text,
  sm8_token_expires_at timestamptz,
  qbo_realm_id        text UNIQUE,
  qbo_secret          text,
  qbo_access_expires_at timestamptz,
  qbo_refresh_expires_at timestamptz,
  -- Incremented on every token refresh: lets a writer detect that someone else refreshed meanwhile.
  qbo_token_version   integer NOT NULL DEFAULT 0,
  -- sha256 of the secret path segment of our ServiceM8 webhook URL.
  sm8_webhook_secret_hash text,
  settings            jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);

-- One row per record known on both sides (or on one side, waiting for its pair).
CREATE TABLE links (
  id               bigserial PRIMARY KEY,
  connection_id    text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  entity_type      text NOT NULL CHECK (entity_type IN ('customer', 'item', 'taxcode', 'invoice', 'payment', 'paymentmethod')),
  sm8_uuid         text,
  qbo_id           text,
  state            text NOT NULL DEFAULT 'linked'
                   CHECK (state IN ('linked', 'inactive', 'voided', 'deleted', 'merged')),
  -- Fingerprints of the mapped fields of each side as last synced: equal now = nothing to do / our echo.
  sm8_fingerprint  text,
  qbo_fingerprint  text,
  qbo_sync_token   text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (connection_id, entity_type, sm8_uuid),
  UNIQUE (connection_id, entity_type, qbo_id)
);

-- Export state of each ServiceM8 job's invoice, with the INV-3 reason when it cannot be exported.
CREATE TABLE invoice_exports (
  connection_id    text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  job_uuid         text NOT NULL,
  generated_job_id text,
  state            text NOT NULL,
  reason_code      text,
  reason_text      text,
  qbo_invoice_id   text,
  sm8_total_cents  bigint,
  qbo_total_cents  bigint,
  exported_at      timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, job_uuid)
);
CREATE INDEX invoice_exports_state ON invoice_exports (connection_id, state);

-- A payment mirrored between the systems: one SM8 jobpayment <-> one line of a QBO Payment.
CREATE TABLE payment_links (
  id                bigserial PRIMARY KEY,
  connection_id     text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  origin            text NOT NULL CHECK (origin IN ('sm8', 'qbo')),
  sm8_payment_uuid  text NOT NULL,
  qbo_payment_id    text,
  qbo_invoice_id    text NOT NULL,
  job_uuid          text NOT NULL,
  amount_cents      bigint NOT NULL,
  state             text NOT NULL DEFAULT 'linked' CHECK (state IN ('linked', 'deleted')),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (connection_id, sm8_payment_uuid),
  UNIQUE (connection_id, qbo_payment_id, qbo_invoice_id)
);

-- Polling positions (TRG-2): e.g. stream 'qbo:cdc' or 'sm8:job' -> last seen timestamp.
CREATE TABLE watermarks (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  stream        text NOT NULL,
  value         text NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, stream)
);

-- Webhook event ids already received, to drop redeliveries (TRG-1).
CREATE TABLE webhook_events (
  source      text NOT NULL CHECK (source IN ('qbo', 'sm8')),
  event_id    text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, event_id)
);
CREATE INDEX webhook_events_received_at ON webhook_events (received_at);

-- What the product did and why, for bookkeepers and support (also the CM-9 losing values).
CREATE TABLE audit_log (
  id            bigserial PRIMARY KEY,
  at            timestamptz NOT NULL DEFAULT now(),
  connection_id text REFERENCES connections (id) ON DELETE CASCADE,
  actor         text NOT NULL,
  entity_type   text,
  entity_ref    text,
  action        text NOT NULL,
  detail        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_connection_at ON audit_log (connection_id, at);
