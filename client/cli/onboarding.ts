/**
 * `sm8qbo onboard <connection> [--follow]` and `sm8qbo onboarding <connection>`: start a connection's
 * onboarding (CM-1) and draw its progress.
 */
import type { Command } from 'commander';
import {
  etaText,
  onboardingEta,
  phaseLine,
  progressBar,
  type OnboardingProgress,
} from '../../domain/onboarding';
import { examples } from './admin';
import type { CliContext, CliIo } from './context';

export interface OnboardingView {
  workflowId: string;
  workflowStatus: string;
  completion: number;
  progress: OnboardingProgress | null;
}

export function describeOnboarding(v: OnboardingView): string[] {
  if (!v.progress) return [`${v.workflowId}: ${v.workflowStatus}, no onboarding recorded yet`];
  return [
    `${v.workflowId} (run ${v.progress.run}, ${v.progress.state}, workflow ${v.workflowStatus})`,
    progressBar(v.completion),
    ...v.progress.phases.map(phaseLine),
  ];
}

/** The phase being worked on, as a short line ("customers 120/300"). */
function currentPhase(p: OnboardingProgress): string {
  const ph = p.phases.find((x) => x.state === 'running') ?? p.phases.find((x) => x.state === 'pending');
  if (!ph) return 'finishing';
  return `${ph.phase} ${ph.done}${ph.total === null ? '' : `/${ph.total}`}`;
}

/**
 * Follows an onboarding until its workflow is no longer running: on a terminal one bar redrawn in place,
 * otherwise a plain line per change (`--json`: one JSON object per change). 0 when it finished, 1 if not.
 * `finishedRun`: the run that had finished before this one was started. Until the new run records itself,
 * the API still shows that one (100 %): it is drawn as "starting" so the bar never goes back. While it runs,
 * the line ends with an ETA from the pace so far (`etaSeconds` in JSON); a new ETA alone is not a change.
 */
export async function followOnboarding(
  read: () => Promise<OnboardingView>,
  out: (s: string) => void,
  io: CliIo & { json: boolean; finishedRun?: number },
): Promise<number> {
  let last = '';
  for (;;) {
    const seen = await read();
    const running = seen.workflowStatus === 'RUNNING';
    const stale = running && io.finishedRun !== undefined && (seen.progress?.run ?? 0) <= io.finishedRun;
    const v: OnboardingView = stale ? { ...seen, completion: 0, progress: null } : seen;
    const line = v.progress
      ? `${progressBar(v.completion)}  ${v.progress.state === 'done' && !running ? 'done' : currentPhase(v.progress)}`
      : `${progressBar(0)}  starting`;
    const key = io.json ? JSON.stringify(v) : line;
    if (key !== last) {
      const eta = running && v.progress ? onboardingEta(v.progress, Date.now()) : null;
      const shown = running && v.progress ? `${line}  ${etaText(eta)}` : line;
      if (io.json)
        out(JSON.stringify({ ...v, etaSeconds: eta?.seconds ?? null, at: new Date().toISOString() }));
      else if (io.tty && io.write) io.write(`\r\x1b[2K${shown}`);
      else out(shown);
      last = key;
    }
    if (!running) {
      if (io.tty && io.write && !io.json) io.write('\n');
      if (!io.json) out(describeOnboarding(v).slice(2).join('\n'));
      return v.progress?.state === 'done' ? 0 : 1;
    }
    await new Promise((r) => setTimeout(r, io.followIntervalMs ?? 1000));
  }
}

export function registerOnboardingCommands(program: Command, ctx: CliContext): void {
  const viewOf = async (connection: string) =>
    (await ctx.api().get<OnboardingView>(`/admin/connections/${encodeURIComponent(connection)}/onboarding`))
      .data;

  examples(
    program
      .command('onboard')
      .description('import QuickBooks customers, items and tax codes into ServiceM8 (CM-1); safe to re-run')
      .argument('<connection>', 'the connection id')
      .option('--follow', 'draw its progress until it is done')
      .action(async (connection: string, opts: { follow?: boolean }) => {
        // Read first: a finished earlier run is what the API shows until the new one has begun.
        const before = opts.follow ? await viewOf(connection) : null;
        const started = (
          await ctx.api().post<{
            workflowId: string;
            started: boolean;
          }>(`/admin/connections/${encodeURIComponent(connection)}/onboarding`, {})
        ).data;
        if (!opts.follow) {
          ctx.out(
            ctx.json
              ? JSON.stringify(started, null, 2)
              : `${started.started ? 'started' : 'already running'}: ${started.workflowId} (\`sm8qbo onboarding ${connection}\` shows its progress)`,
          );
          return;
        }
        if (!ctx.json) ctx.out(`${started.started ? 'started' : 'already running'}: ${started.workflowId}`);
        const finishedRun = before?.progress?.state === 'done' ? before.progress.run : undefined;
        const code = await followOnboarding(() => viewOf(connection), ctx.out, {
          ...ctx.io,
          json: ctx.json,
          finishedRun,
        });
        ctx.exitCode = code;
      }),
    ['sm8qbo onboard acme --follow', 'sm8qbo onboard acme --follow --json'],
  );

  examples(
    program
      .command('onboarding')
      .description("the progress of a connection's onboarding: counts per phase")
      .argument('<connection>', 'the connection id')
      .action(async (connection: string) => {
        const view = await viewOf(connection);
        ctx.out(ctx.json ? JSON.stringify(view, null, 2) : describeOnboarding(view).join('\n'));
      }),
    ['sm8qbo onboarding acme'],
  );
}
