/**
 * The CLI's text output without a server: tables cut with an ellipsis and fitted to a terminal, and the
 * onboarding bar that never goes back (OPS-2).
 */
import { followOnboarding, table } from '../client/cli';
import { completion, emptyPhase, type OnboardingProgress, type PhaseProgress } from '../domain/onboarding';

describe('tables', () => {
  const rows = [{ id: 'ops', reason: `Line "Labour" ${'x'.repeat(80)}`, n: 1 }];

  it('OPS-2: a cell longer than its column (60) ends with "…"; nothing is cut silently', () => {
    const lines = table(rows, ['id', 'reason', 'n']).split('\n');
    expect(lines[2]).toMatch(/^ops {2}Line "Labour" x{45}… {2}1$/);
    expect(lines[1]).toBe(`---  ${'-'.repeat(60)}  -`);
  });

  it('OPS-2: with a terminal width the widest columns give way until each line fits', () => {
    const lines = table(rows, ['id', 'reason', 'n'], { width: 30 }).split('\n');
    expect(lines.map((l) => l.length)).toEqual([30, 30, 30]);
    expect(lines[2]).toBe('ops  Line "Labour" xxxxxxx…  1');
    // Headers are cut the same way, and a column never shrinks below 6 characters.
    const many = table([{ aVeryLongHeader: 'v', other: 'w' }], ['aVeryLongHeader', 'other'], { width: 5 });
    expect(many.split('\n')[0]).toBe('aVery…  other');
  });
});

describe('OPS-2: the onboarding bar never goes back', () => {
  const phase = (
    p: PhaseProgress['phase'],
    state: PhaseProgress['state'],
    total: number | null,
    done = 0,
  ) => ({
    ...emptyPhase(p),
    state,
    total,
    done,
  });
  /** A run as the workflow records it: tax codes (4), then customers counted (300), then items (50). */
  const snapshots: Array<PhaseProgress[]> = [
    [
      phase('taxcodes', 'pending', null),
      phase('customers', 'pending', null),
      phase('items', 'pending', null),
    ],
    [phase('taxcodes', 'done', 4, 4), phase('customers', 'pending', null), phase('items', 'pending', null)],
    [phase('taxcodes', 'done', 4, 4), phase('customers', 'running', 300, 0), phase('items', 'pending', null)],
    [
      phase('taxcodes', 'done', 4, 4),
      phase('customers', 'running', 300, 150),
      phase('items', 'pending', null),
    ],
    [phase('taxcodes', 'done', 4, 4), phase('customers', 'done', 300, 300), phase('items', 'running', 50, 0)],
    [
      phase('taxcodes', 'done', 4, 4),
      phase('customers', 'done', 300, 300),
      phase('items', 'running', 50, 49),
    ],
    [phase('taxcodes', 'done', 4, 4), phase('customers', 'done', 300, 300), phase('items', 'done', 50, 50)],
  ];

  it('OPS-2: completion starts at 0, grows as each phase counts and imports its records, and ends at 1', () => {
    const values = snapshots.map((phases) => completion({ state: 'running', phases }));
    expect(values[0]).toBe(0);
    for (let i = 1; i < values.length; i += 1)
      expect(values[i]).toBeGreaterThanOrEqual(values[i - 1] as number);
    expect(values[values.length - 1]).toBe(1);
    expect(completion({ state: 'done', phases: snapshots[0] as PhaseProgress[] })).toBe(1);
  });

  it('OPS-2: following a re-run, the finished earlier run is drawn as "starting" (0 %), not 100 % then back', async () => {
    const progress = (
      run: number,
      state: 'running' | 'done',
      phases: PhaseProgress[],
    ): OnboardingProgress => ({
      connectionId: 'x',
      run,
      state,
      startedBy: 'admin',
      startedAt: '2026-11-26T00:00:00.000Z',
      finishedAt: null,
      phases,
    });
    const last = snapshots[snapshots.length - 1] as PhaseProgress[];
    const views = [
      // The new run has not recorded itself yet: the API still shows run 1, finished.
      { status: 'RUNNING', progress: progress(1, 'done', last) },
      { status: 'RUNNING', progress: progress(2, 'running', snapshots[2] as PhaseProgress[]) },
      { status: 'RUNNING', progress: progress(2, 'running', snapshots[5] as PhaseProgress[]) },
      { status: 'COMPLETED', progress: progress(2, 'done', last) },
    ].map((v) => ({
      workflowId: 'onboarding/x',
      workflowStatus: v.status,
      completion: completion(v.progress),
      progress: v.progress,
    }));
    let i = 0;
    const lines: string[] = [];
    const code = await followOnboarding(
      () => Promise.resolve(views[Math.min(i++, views.length - 1)] as (typeof views)[number]),
      (l) => lines.push(l),
      { json: false, followIntervalMs: 1, finishedRun: 1 },
    );
    expect(code).toBe(0);
    const percents = lines.flatMap((l) => /\] +(\d+)%/.exec(l)?.[1] ?? []).map(Number);
    expect(percents).toEqual([0, 33, 99, 100]);
    expect(lines[0]).toMatch(/\] {3}0% {2}starting$/);
  });
});
