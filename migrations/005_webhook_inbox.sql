-- Webhook inbox (TRG-1): every accepted webhook event is written here inside the request, before we
-- answer 200, and only then routed to its owner workflow. When Temporal is unreachable the row stays
-- 'pending' and the inbox relay (client/webhook-inbox.ts) routes it later, oldest first, so an event
-- that was acknowledged to ServiceM8 or Intuit is never lost.
--   pending  : to be routed (signal-with-start of the owner workflow)
--   routed   : delivered to its owner (routed_to = workflow id, or why nothing needed waking, e.g. INV-8)
--   unrouted : recorded only: no owner workflow exists for this entity yet, or no connection matches
--   failed   : routing failed permanently (Temporal refused the request as invalid); kept for support
CREATE TABLE webhook_inbox (
  id              bigserial PRIMARY KEY,
  source          text NOT NULL CHECK (source IN ('qbo', 'sm8')),
  connection_id   text REFERENCES connections (id) ON DELETE CASCADE,
  event_id        text NOT NULL,
  entity          text NOT NULL,
  entity_id       text NOT NULL,
  operation       text,
  payload         jsonb NOT NULL,
  state           text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'routed', 'unrouted', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text,
  routed_to       text,
  -- A pending row is due when this has passed; a router claims rows by moving it into the future (lease),
  -- so the request that stored an event and the relay (of any API process) never route it twice at once.
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  received_at     timestamptz NOT NULL DEFAULT now(),
  routed_at       timestamptz,
  UNIQUE (source, event_id)
);
-- The relay's work list: pending rows in arrival order (tiny: routed rows leave the partial index).
CREATE INDEX webhook_inbox_pending ON webhook_inbox (id) WHERE state = 'pending';
CREATE INDEX webhook_inbox_pending_by_connection ON webhook_inbox (connection_id, id) WHERE state = 'pending';
CREATE INDEX webhook_inbox_entity ON webhook_inbox (connection_id, entity, entity_id);

-- ServiceM8 webhook callbacks are found by the sha256 of the secret in their URL: one connection per secret.
CREATE UNIQUE INDEX connections_sm8_webhook_secret_hash ON connections (sm8_webhook_secret_hash)
  WHERE sm8_webhook_secret_hash IS NOT NULL;
