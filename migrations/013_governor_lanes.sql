-- Governor lanes, AIMD and the paused check (issue 12; docs/rate-governor.md, apis/governor/).
--
-- 1. Every permit records the lane that took it (interactive, live, bulk), for the budget view. The limits a
--    lane is checked against are its share of each budget (apis/governor/policy.ts LANE_SHARES): the window
--    check "the N-th newest permit is younger than W" with a lane's smaller N means "all lanes together have
--    used the lane's share", so a lower lane can never take the last part of a budget, in any process.
-- 2. rate_slowdowns: after a 429 without Retry-After, the connection's rate (per family: 'sm8', 'qbo') is
--    halved, down to a floor, and recovers additively with time. The stored factor is the value at
--    updated_at; the current value is computed on read (no background job): min(1, factor + recover × elapsed).
-- 3. A paused, unauthorised or disconnected connection is refused before any permit is taken: the caller
--    parks (CON-3) without spending the budget.
ALTER TABLE rate_permits
  ADD COLUMN lane text NOT NULL DEFAULT 'live' CHECK (lane IN ('interactive', 'live', 'bulk'));

CREATE TABLE rate_slowdowns (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  family        text NOT NULL CHECK (family IN ('sm8', 'qbo')),
  -- The fraction of the rate limits allowed at updated_at (floor .. 1).
  factor        double precision NOT NULL CHECK (factor > 0 AND factor <= 1),
  updated_at    timestamptz NOT NULL,
  last_429_at   timestamptz NOT NULL,
  PRIMARY KEY (connection_id, family)
);

-- The current slowdown factor of a row (1 without a row): the stored factor plus the recovery since.
CREATE FUNCTION rate_governor_factor(p_factor double precision, p_updated timestamptz, p_now timestamptz,
                                     p_recover_per_ms double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_factor IS NULL THEN 1
              ELSE least(1, p_factor + p_recover_per_ms * greatest(0, extract(epoch FROM p_now - p_updated) * 1000))
         END
$$;

-- Multiplicative decrease: factor := max(floor, current × p_multiplier). Returns the new factor.
CREATE FUNCTION rate_governor_slow_down(p_connection_id text, p_family text, p_multiplier double precision,
                                        p_floor double precision, p_recover_per_ms double precision)
RETURNS double precision LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_now    timestamptz;
  v_factor double precision;
BEGIN
  -- The same lock as the check-and-grant: a decrease never interleaves with a grant's reading of the factor.
  PERFORM pg_advisory_xact_lock(7283003, hashtext(p_connection_id || ':' || p_family));
  v_now := clock_timestamp();
  SELECT greatest(p_floor, rate_governor_factor(s.factor, s.updated_at, v_now, p_recover_per_ms) * p_multiplier)
    INTO v_factor
    FROM rate_slowdowns s WHERE s.connection_id = p_connection_id AND s.family = p_family;
  v_factor := coalesce(v_factor, greatest(p_floor, p_multiplier));
  INSERT INTO rate_slowdowns (connection_id, family, factor, updated_at, last_429_at)
  VALUES (p_connection_id, p_family, v_factor, v_now, v_now)
  ON CONFLICT (connection_id, family) DO UPDATE
    SET factor = excluded.factor, updated_at = excluded.updated_at, last_429_at = excluded.last_429_at;
  RETURN v_factor;
END;
$$;

-- The check-and-grant of 003/009 with a lane, the slowdown and the connection's status. The old function is
-- dropped: every process of an installation runs the same code (the limits live in TypeScript anyway).
DROP FUNCTION rate_governor_try_acquire(text, text, text[], boolean, double precision, text[], text[],
                                        double precision[], integer[], text[], text[], integer[]);

-- p_win_slowed[i]: whether window i is scaled by the slowdown factor (rate windows are; the day is not).
-- p_win_limit / p_conc_limit are already the lane's share. Returns, besides 003's columns, blocked_by
-- 'connection/<status>' (wait_ms 0) when the connection is not active: no permit is taken.
CREATE FUNCTION rate_governor_try_acquire(
  p_connection_id  text,
  p_family         text,
  p_lane           text,
  p_record         text[],
  p_hold           boolean,
  p_lease_ms       double precision,
  p_cooldown       text[],
  p_win_api        text[],
  p_win_ms         double precision[],
  p_win_limit      integer[],
  p_win_name       text[],
  p_win_slowed     boolean[],
  p_conc_api       text[],
  p_conc_limit     integer[],
  p_recover_per_ms double precision
) RETURNS TABLE (permit_ids bigint[], wait_ms double precision, blocked_by text)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  v_now     timestamptz;
  v_wake    timestamptz;
  v_blocked text;
  v_status  text;
  v_factor  double precision;
  v_limit   integer;
  v_latest  bigint;
  v_edge    timestamptz;
  v_open    bigint;
  v_lease   timestamptz;
  v_grant   timestamptz;
  v_api     text;
  v_id      bigint;
  v_ids     bigint[] := '{}';
  i         integer;
BEGIN
  SELECT c.status INTO v_status FROM connections c WHERE c.id = p_connection_id;
  IF v_status IS NOT NULL AND v_status <> 'active' THEN
    RETURN QUERY SELECT NULL::bigint[], 0::double precision, 'connection/' || v_status;
    RETURN;
  END IF;

  PERFORM pg_advisory_xact_lock(7283003, hashtext(p_connection_id || ':' || p_family));
  v_now := clock_timestamp();

  SELECT c.api, c.until INTO v_blocked, v_wake
    FROM rate_cooldowns c
   WHERE c.connection_id = p_connection_id AND c.api = ANY (p_cooldown) AND c.until > v_now
   ORDER BY c.until DESC
   LIMIT 1;
  IF v_wake IS NOT NULL THEN
    v_blocked := v_blocked || '/cooldown';
  END IF;

  SELECT rate_governor_factor(s.factor, s.updated_at, v_now, p_recover_per_ms) INTO v_factor
    FROM rate_slowdowns s WHERE s.connection_id = p_connection_id AND s.family = p_family;
  v_factor := coalesce(v_factor, 1);

  FOR i IN 1 .. coalesce(array_length(p_win_api, 1), 0) LOOP
    v_limit := CASE WHEN p_win_slowed[i] THEN greatest(1, floor(p_win_limit[i] * v_factor)::integer)
                    ELSE p_win_limit[i] END;
    SELECT max(p.seq) INTO v_latest
      FROM rate_permits p
     WHERE p.connection_id = p_connection_id AND p.api = p_win_api[i];
    -- The N-th newest permit; missing (none yet, or pruned: older than every window) means room.
    SELECT p.granted_at + p_win_ms[i] * interval '1 millisecond' INTO v_edge
      FROM rate_permits p
     WHERE p.connection_id = p_connection_id AND p.api = p_win_api[i]
       AND p.seq = v_latest - v_limit + 1;
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

  -- Stamped after the last check (see 009).
  v_grant := clock_timestamp();
  FOREACH v_api IN ARRAY p_record LOOP
    INSERT INTO rate_permits (connection_id, api, seq, granted_at, lease_until, released_at, lane)
    SELECT p_connection_id, v_api, coalesce(max(p.seq), 0) + 1, v_grant,
           v_grant + p_lease_ms * interval '1 millisecond',
           CASE WHEN p_hold THEN NULL ELSE v_grant END, p_lane
      FROM rate_permits p
     WHERE p.connection_id = p_connection_id AND p.api = v_api
    RETURNING id INTO v_id;
    v_ids := v_ids || v_id;
  END LOOP;
  RETURN QUERY SELECT v_ids, 0::double precision, NULL::text;
END;
$$;
