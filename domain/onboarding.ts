/**
 * Onboarding (CM-1, TAX-1 step, OPS-2 "onboarding shows progress"): the phases in their order and the
 * progress shape shared by the workflow query, the admin API and the CLI. Pure.
 */
export const ONBOARDING_PHASES = ['taxcodes', 'customers', 'items'] as const;
export type OnboardingPhase = (typeof ONBOARDING_PHASES)[number];

export interface PhaseProgress {
  phase: OnboardingPhase;
  state: 'pending' | 'running' | 'done';
  /** Records to look at (null until counted). */
  total: number | null;
  /** Records looked at so far. */
  done: number;
  created: number;
  linked: number;
  skipped: number;
  /** Skipped records by reason (inactive, bills_with_parent, category, already_linked, …). */
  skippedBy: Record<string, number>;
  /** Phase-specific counts (the tax code sync reports created/updated/deactivated/unchanged). */
  detail: Record<string, number>;
}

export interface OnboardingProgress {
  connectionId: string;
  run: number;
  state: 'running' | 'done';
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
  phases: PhaseProgress[];
}

export function emptyPhase(phase: OnboardingPhase): PhaseProgress {
  return {
    phase,
    state: 'pending',
    total: null,
    done: 0,
    created: 0,
    linked: 0,
    skipped: 0,
    skippedBy: {},
    detail: {},
  };
}

/**
 * Whole-run completion from 0 to 1. Each phase has an equal, fixed share of the bar, filled by done/total
 * once its total is counted. Fixed shares keep the bar from going back: weighing phases by their totals
 * made it jump back each time a new phase counted its records (66 % after the tax codes, then 1 %).
 */
export function completion(p: Pick<OnboardingProgress, 'state' | 'phases'>): number {
  if (p.state === 'done') return 1;
  if (p.phases.length === 0) return 0;
  let filled = 0;
  for (const ph of p.phases) {
    if (ph.state === 'done') filled += 1;
    else if (ph.total !== null && ph.total > 0) filled += Math.min(ph.done / ph.total, 1);
  }
  return filled / p.phases.length;
}

/** A text progress bar: `[#########-----------]  45%`. */
export function progressBar(fraction: number, width = 30): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

/** One line per phase, for people: "customers  120/300  created 100  linked 15  skipped 5 (inactive 5)". */
export function phaseLine(p: PhaseProgress): string {
  const reasons = Object.entries(p.skippedBy)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const count = p.total === null ? `${p.done}` : `${p.done}/${p.total}`;
  const detail = Object.entries(p.detail)
    .map(([k, v]) => `${k} ${v}`)
    .join('  ');
  return [
    p.phase.padEnd(10),
    p.state.padEnd(8),
    count.padStart(9),
    `created ${p.created}`,
    `linked ${p.linked}`,
    `skipped ${p.skipped}${reasons ? ` (${reasons})` : ''}`,
    detail,
  ]
    .filter(Boolean)
    .join('  ')
    .trimEnd();
}

/**
 * Seconds left, from the pace so far (issue 12: `sm8qbo onboard --follow` shows it): the customer and item
 * records still to look at, at the rate records were looked at since the run started. Null until a record
 * is done (no pace yet) or when done. `partial`: a phase is not counted yet, so more may follow.
 */
export function onboardingEta(
  p: Pick<OnboardingProgress, 'state' | 'phases' | 'startedAt'>,
  nowMs: number,
): { seconds: number; partial: boolean } | null {
  if (p.state === 'done') return null;
  const records = p.phases.filter((x) => x.phase !== 'taxcodes');
  const done = records.reduce((n, x) => n + x.done, 0);
  const elapsed = (nowMs - Date.parse(p.startedAt)) / 1000;
  if (done === 0 || !(elapsed > 0)) return null;
  const left = records.reduce(
    (n, x) => n + (x.state === 'done' ? 0 : Math.max((x.total ?? x.done) - x.done, 0)),
    0,
  );
  const partial = records.some((x) => x.state !== 'done' && x.total === null);
  return { seconds: Math.ceil((left * elapsed) / done), partial };
}

/** "ETA 1m 05s" (with "+" when a phase is not counted yet), or "ETA …" when there is no pace yet. */
export function etaText(eta: { seconds: number; partial: boolean } | null): string {
  if (!eta) return 'ETA …';
  const m = Math.floor(eta.seconds / 60);
  const s = eta.seconds % 60;
  const text = m > 0 ? `${m}m ${String(s).padStart(2, '0')}s` : `${s}s`;
  return `ETA ${text}${eta.partial ? '+' : ''}`;
}
