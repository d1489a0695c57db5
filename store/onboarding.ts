/**
 * Onboarding progress in PostgreSQL (migrations/008): runs, per-phase cursors and one outcome row per
 * QuickBooks record. Counts are computed from the outcome rows, so a retried page never counts twice.
 * Read by the onboarding activities and by the admin API (GET /admin/connections/:id/onboarding).
 */
import type { Pool } from 'pg';
import { withTransaction } from '../infra/database';
import {
  emptyPhase,
  ONBOARDING_PHASES,
  type OnboardingPhase,
  type OnboardingProgress,
  type PhaseProgress,
} from '../domain/onboarding';

export type RecordOutcome = 'created' | 'linked' | 'skipped';

export class OnboardingStore {
  constructor(private readonly pool: Pool) {}

  /**
   * The run to work on: the latest one when it never finished (a crash or a terminated workflow resumes
   * it from its cursors), else a new one. Serialised per connection by a row lock on the connection.
   */
  async begin(connectionId: string, startedBy: string): Promise<{ run: number; resumed: boolean }> {
    return withTransaction(this.pool, async (db) => {
      await db.query('SELECT 1 FROM connections WHERE id = $1 FOR UPDATE', [connectionId]);
      const last = await db.query<{ run: number; state: string }>(
        'SELECT run, state FROM onboarding_runs WHERE connection_id = $1 ORDER BY run DESC LIMIT 1',
        [connectionId],
      );
      const prev = last.rows[0];
      if (prev && prev.state === 'running') return { run: prev.run, resumed: true };
      const run = (prev?.run ?? 0) + 1;
      await db.query('INSERT INTO onboarding_runs (connection_id, run, started_by) VALUES ($1, $2, $3)', [
        connectionId,
        run,
        startedBy,
      ]);
      for (const phase of ONBOARDING_PHASES) {
        await db.query('INSERT INTO onboarding_phases (connection_id, run, phase) VALUES ($1, $2, $3)', [
          connectionId,
          run,
          phase,
        ]);
      }
      return { run, resumed: false };
    });
  }

  /** Removes a run nothing was done in (its workflow could not be started). */
  async discard(connectionId: string, run: number): Promise<void> {
    await this.pool.query(
      `DELETE FROM onboarding_runs r WHERE connection_id = $1 AND run = $2
          AND NOT EXISTS (SELECT 1 FROM onboarding_records x WHERE x.connection_id = r.connection_id AND x.run = r.run)`,
      [connectionId, run],
    );
  }

  /** True when the connection was ever onboarded or is being onboarded (connect starts it only once). */
  async everStarted(connectionId: string): Promise<boolean> {
    const r = await this.pool.query('SELECT 1 FROM onboarding_runs WHERE connection_id = $1 LIMIT 1', [
      connectionId,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async phaseCursor(
    connectionId: string,
    run: number,
    phase: OnboardingPhase,
  ): Promise<{ state: string; total: number | null; nextPosition: number }> {
    const r = await this.pool.query<{ state: string; total: number | null; next_position: number }>(
      'SELECT state, total, next_position FROM onboarding_phases WHERE connection_id = $1 AND run = $2 AND phase = $3',
      [connectionId, run, phase],
    );
    const row = r.rows[0];
    return {
      state: row?.state ?? 'pending',
      total: row?.total ?? null,
      nextPosition: row?.next_position ?? 1,
    };
  }

  async updatePhase(
    connectionId: string,
    run: number,
    phase: OnboardingPhase,
    fields: { state?: 'running' | 'done'; total?: number; nextPosition?: number; detail?: object },
  ): Promise<void> {
    await this.pool.query(
      `UPDATE onboarding_phases
          SET state = COALESCE($4, state), total = COALESCE($5, total),
              next_position = GREATEST(next_position, COALESCE($6, next_position)),
              detail = COALESCE($7::jsonb, detail), updated_at = now()
        WHERE connection_id = $1 AND run = $2 AND phase = $3`,
      [
        connectionId,
        run,
        phase,
        fields.state ?? null,
        fields.total ?? null,
        fields.nextPosition ?? null,
        fields.detail ? JSON.stringify(fields.detail) : null,
      ],
    );
  }

  /** Whether the connection's latest onboarding run is under way (one row read). */
  async running(connectionId: string): Promise<boolean> {
    const r = await this.pool.query<{ state: string }>(
      'SELECT state FROM onboarding_runs WHERE connection_id = $1 ORDER BY run DESC LIMIT 1',
      [connectionId],
    );
    return r.rows[0]?.state === 'running';
  }

  async finish(connectionId: string, run: number): Promise<void> {
    await this.pool.query(
      `UPDATE onboarding_runs SET state = 'done', finished_at = COALESCE(finished_at, now())
        WHERE connection_id = $1 AND run = $2`,
      [connectionId, run],
    );
  }

  /** The QuickBooks ids of this phase that already have an outcome (done before a crash or retry). */
  async outcomesOf(
    connectionId: string,
    run: number,
    phase: OnboardingPhase,
    qboIds: string[],
  ): Promise<Set<string>> {
    const r = await this.pool.query<{ qbo_id: string }>(
      `SELECT qbo_id FROM onboarding_records
        WHERE connection_id = $1 AND run = $2 AND phase = $3 AND qbo_id = ANY($4::text[])`,
      [connectionId, run, phase, qboIds],
    );
    return new Set(r.rows.map((x) => x.qbo_id));
  }

  /** Records what happened to one QuickBooks record; the first outcome stays. */
  async recordOutcome(
    connectionId: string,
    run: number,
    phase: OnboardingPhase,
    qboId: string,
    outcome: RecordOutcome,
    extra: { reason?: string; sm8Uuid?: string } = {},
  ): Promise<void> {
    await this.pool.query(
      `INSERT INTO onboarding_records (connection_id, run, phase, qbo_id, outcome, reason, sm8_uuid)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [connectionId, run, phase, qboId, outcome, extra.reason ?? null, extra.sm8Uuid ?? null],
    );
  }

  /** Progress of one run (the latest when `run` is not given); null when never onboarded. */
  async progress(connectionId: string, run?: number): Promise<OnboardingProgress | null> {
    const runs = await this.pool.query<{
      run: number;
      state: 'running' | 'done';
      started_by: string;
      started_at: Date;
      finished_at: Date | null;
    }>(
      `SELECT run, state, started_by, started_at, finished_at FROM onboarding_runs
        WHERE connection_id = $1 AND ($2::int IS NULL OR run = $2) ORDER BY run DESC LIMIT 1`,
      [connectionId, run ?? null],
    );
    const r = runs.rows[0];
    if (!r) return null;
    const [phases, counts] = await Promise.all([
      this.pool.query<{
        phase: OnboardingPhase;
        state: PhaseProgress['state'];
        total: number | null;
        detail: Record<string, number>;
      }>('SELECT phase, state, total, detail FROM onboarding_phases WHERE connection_id = $1 AND run = $2', [
        connectionId,
        r.run,
      ]),
      this.pool.query<{ phase: OnboardingPhase; outcome: RecordOutcome; reason: string | null; n: string }>(
        `SELECT phase, outcome, reason, count(*) AS n FROM onboarding_records
          WHERE connection_id = $1 AND run = $2 GROUP BY phase, outcome, reason`,
        [connectionId, r.run],
      ),
    ]);
    const out = ONBOARDING_PHASES.map((phase) => {
      const p = emptyPhase(phase);
      const row = phases.rows.find((x) => x.phase === phase);
      if (row) {
        p.state = row.state;
        p.total = row.total;
        p.detail = row.detail ?? {};
      }
      for (const c of counts.rows.filter((x) => x.phase === phase)) {
        const n = Number(c.n);
        p.done += n;
        if (c.outcome === 'created') p.created += n;
        else if (c.outcome === 'linked') p.linked += n;
        else {
          p.skipped += n;
          const why = c.reason ?? 'unknown';
          p.skippedBy[why] = (p.skippedBy[why] ?? 0) + n;
        }
      }
      // The tax code phase reports counts, not records: it is done when its sync returned.
      if (phase === 'taxcodes' && p.state === 'done') p.done = p.total ?? 0;
      return p;
    });
    return {
      connectionId,
      run: r.run,
      state: r.state,
      startedBy: r.started_by,
      startedAt: r.started_at.toISOString(),
      finishedAt: r.finished_at ? r.finished_at.toISOString() : null,
      phases: out,
    };
  }
}
