-- The rate governor's check-and-grant (003) stamped a permit with the clock read right after the lock, before
-- the checks. A release that committed between that reading and the concurrency count was counted as
-- released (correctly: the call had ended), but its released_at could be later than the new permit's
-- granted_at, so the permit table showed one call too many in flight. Seen as a failure of the two-worker
-- test on a loaded machine (3 in flight at a limit of 2). The grant is now stamped after the last check;
-- windows are unaffected (a later stamp only makes a window looser for the next check, never tighter).
CREATE OR REPLACE FUNCTION rate_governor_try_acquire(
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
  v_grant   timestamptz;
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

  -- The grant's own instant: after the last check, so a release committed between the first clock reading and
  -- the concurrency count (the count saw it released) is never stamped later than the grant it made room for.
  v_grant := clock_timestamp();
  FOREACH v_api IN ARRAY p_record LOOP
    INSERT INTO rate_permits (connection_id, api, seq, granted_at, lease_until, released_at)
    SELECT p_connection_id, v_api, coalesce(max(p.seq), 0) + 1, v_grant,
           v_grant + p_lease_ms * interval '1 millisecond',
           CASE WHEN p_hold THEN NULL ELSE v_grant END
      FROM rate_permits p
     WHERE p.connection_id = p_connection_id AND p.api = v_api
    RETURNING id INTO v_id;
    v_ids := v_ids || v_id;
  END LOOP;
  RETURN QUERY SELECT v_ids, 0::double precision, NULL::text;
END;
$$;
