-- Issue 13: a slowed connection grows back by doubling, not by a fixed step. After a 429 without Retry-After
-- the rate is halved (never below 0.1 of the limits, 013); it used to grow back by 0.5 of the limits a minute,
-- so from the floor the full rate took 108 s. The long soak ended its 429s at the floor and spent its first
-- two minutes after them at a tenth of the budget, with hundreds of records waiting. Now the factor doubles
-- every sixth of the minute window without a 429 (10 s): from the floor to the full rate in 33 s, from one
-- halving in 10 s. A 429 still halves it at once, in every worker.
--
-- p_recover_per_ms is now the doublings per millisecond (apis/governor/policy.ts SLOWDOWN).
CREATE OR REPLACE FUNCTION rate_governor_factor(p_factor double precision, p_updated timestamptz,
                                                p_now timestamptz, p_recover_per_ms double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_factor IS NULL THEN 1
              ELSE least(1, p_factor * power(2, least(16, p_recover_per_ms
                                                          * greatest(0, extract(epoch FROM p_now - p_updated) * 1000))))
         END
$$;
