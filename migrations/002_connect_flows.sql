-- OAuth connect flows (CON-1): one row per authorize redirect; the callback consumes it exactly once,
-- so a callback that arrives twice cannot exchange its authorization code twice.
CREATE TABLE oauth_states (
  state         text PRIMARY KEY,
  provider      text NOT NULL CHECK (provider IN ('qbo', 'sm8')),
  connection_id text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  consumed_at   timestamptz
);
