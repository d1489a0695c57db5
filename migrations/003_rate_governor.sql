-- Rate governor (apis/governor/rate-governor.ts, docs/rate-governor.md): API permits shared by every worker.
--
-- One row per permit and per budget it is counted in ("series"): an SM8 call records one 'sm8' row, a
-- QBO call one 'qbo' row, a QBO batch call one 'qbo' row AND one 'qbo-batch' row (a batch call counts
-- toward both budgets). Within a series, `seq` numbers the permits 1, 2, 3… without gaps, in grant order,
-- so "is the window full?" is a point lookup: the window of length W and limit N is full exactly while
-- the N-th newest permit (seq = latest - N + 1) was granted less than W ago. That keeps every acquire
-- O(log n), even for the 20,000/day window. The UNIQUE (connection_id, api, seq) also makes the database
-- reject any grant that bypassed the per-connection lock instead of silently over-granting.
CREATE TABLE rate_permits (
  id            bigserial PRIMARY KEY,
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  api           text NOT NULL CHECK (api IN ('sm8', 'qbo', 'qbo-batch')),
  seq           bigint NOT NULL,
  granted_at    timestamptz NOT NULL,
  -- A permit holding a concurrency slot that is not released by then (crashed worker) frees itself.
  lease_until   timestamptz NOT NULL,
  -- NULL while the call is in flight. Permits of APIs without a concurrency limit are born released.
  released_at   timestamptz,
  UNIQUE (connection_id, api, seq)
);
-- Sliding-window counts (stats) by grant time.
CREATE INDEX rate_permits_window ON rate_permits (connection_id, api, granted_at);
-- Calls in flight: only unreleased rows, so this index stays tiny.
CREATE INDEX rate_permits_open ON rate_permits (connection_id, api, lease_until) WHERE released_at IS NULL;
-- prune(): delete everything older than the longest window, across connections.
CREATE INDEX rate_permits_granted_at ON rate_permits (granted_at);

-- After a 429, every worker holds off that (connection, api) until `until`.
CREATE TABLE rate_cooldowns (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  api           text NOT NULL CHECK (api IN ('sm8', 'qbo', 'qbo-batch')),
  until         timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, api)
);

-- Check-and-grant in ONE round trip, atomic per (connection, API family) across all processes.
--
-- Why a function: the advisory lock must be taken BEFORE the snapshot the counts are read from, which a
-- single SQL statement cannot do; inside a VOLATILE plpgsql function every statement takes a fresh
-- snapshot (READ COMMITTED, the default, which callers must not override), so the counts see every grant
-- committed before we got the lock. The xact lock is released only after our own insert commits, and it
-- is held for the server-side work only, never across a network round trip.
-- The DB clock (clock_timestamp(), read after the lock) is the only clock that judges windows, so workers
-- on machines with skewed clocks still agree.
--
-- The caller describes what to check (the TypeScript side owns the limits, so changing a limit is not a
-- migration): one array entry per window (series, length, limit, name) and per concurrency limit.
-- Returns either the granted permit ids, or how long to wait and what blocked:
--   blocked_by = '<api>/<window>' or '<api>/cooldown': wait_ms is exact (the earliest instant a slot frees);
--   blocked_by = '<api>/concurrent': wait_ms is when the earliest lease expires; a release may come sooner.
CREATE FUNCTION rate_governor_try_acquire(
  p_connection_id text,
  p_lock_key      text,
  p_record        text[],
  p_hold          boolean,
  p_lease_ms      double precision,
  p_cooldown      text[],
  p_win_api       text[],
  p_win_ms        double precision[],
  p_win_limit     integer[],
  p_win_name      text[],
  p_conc_api      text[],
  p_conc_limit    integer[]
) RETURNS TABLE (permit_ids bigint[], wait_ms double precision, blocked_by text)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  v_now     timestamptz;
  v_wake    timestamptz;
  v_blocked text;
  v_latest  bigint;
  v_edge    timestamptz;
  v_open    bigint;
  v_lease   timestamptz;
  v_api     text;
  v_id      bigint;
  v_ids     bigint[] := '{}';
  i         integer;
BEGIN
  -- 7283003: this module's class of advisory locks (two-int keys never collide with single-bigint ones,
  -- such as the migration lock). hashtext collisions only serialise two unrelated keys, never break limits.
  PERFORM pg_advisory_xact_lock(7283003, hashtext(p_lock_key));
  v_now := clock_timestamp();

  SELECT c.api, c.until INTO v_blocked, v_wake
    FROM rate_cooldowns c
   WHERE c.connection_id = p_connection_id AND c.api = ANY (p_cooldown) AND c.until > v_now
   ORDER BY c.until DESC
   LIMIT 1;
  IF v_wake IS NOT NULL THEN
    v_blocked := v_blocked || '/cooldown';
  END IF;

  FOR i IN 1 .. coalesce(array_length(p_win_api, 1), 0) LOOP
    SELECT max(p.seq) INTO v_latest
      FROM rate_permits p
     WHERE p.connection_id = p_connection_id AND p.api = p_win_api[i];
    -- The N-th newest permit; missing (none yet, or pruned: older than every window) means room.
    SELECT p.granted_at + p_win_ms[i] * interval '1 millisecond' INTO v_edge
      FROM rate_permits p
     WHERE p.connection_id = p_connection_id AND p.api = p_win_api[i]
       AND p.seq = v_latest - p_win_limit[i] + 1;
    IF v_edge IS NOT NULL AND v_edge > v_now AND (v_wake IS NULL OR v_edge > v_wake) THEN
      v_wake := v_edge;
      v_blocked := p_win_name[i];
    END IF;
  END LOOP;

  IF v_wake IS NOT NULL THEN
    RETURN QUERY SELECT NULL::bigint[], greatest(0, extract(epoch FROM v_wake - clock_timestamp()) * 1000)::double precision, v_blocked;
    RETURN;
  END IF;

  FOR i IN 1 .. coalesce(array_length(p_conc_api, 1), 0) LOOP
    SELECT count(*), min(p.lease_until) INTO v_open, v_lease
      FROM rate_permits p
     WHERE p.connection_id = p_connection_id AND p.api = p_conc_api[i]
       AND p.released_at IS NULL AND p.lease_until > v_now;
    IF v_open >= p_conc_limit[i] THEN
      RETURN QUERY SELECT NULL::bigint[], greatest(0, extract(epoch FROM v_lease - clock_timestamp()) * 1000)::double precision, p_conc_api[i] || '/concurrent';
      RETURN;
    END IF;
  END LOOP;

  FOREACH v_api IN ARRAY p_record LOOP
    INSERT INTO rate_permits (connection_id, api, seq, granted_at, lease_until, released_at)
    SELECT p_connection_id, v_api, coalesce(max(p.seq), 0) + 1, v_now,
           v_now + p_lease_ms * interval '1 millisecond',
           CASE WHEN p_hold THEN NULL ELSE v_now END
      FROM rate_permits p
     WHERE p.connection_id = p_connection_id AND p.api = v_api
    RETURNING id INTO v_id;
    v_ids := v_ids || v_id;
  END LOOP;
  RETURN QUERY SELECT v_ids, 0::double precision, NULL::text;
END;
$$;
