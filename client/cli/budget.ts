/**
 * `sm8qbo budget <connection>`: the connection's API budgets (issue 12) through the admin API: calls in the
 * last minute and the last 24 hours against the limits the governor allows itself, used today by lane
 * (interactive, live, bulk), the slowdown after a 429, a running cooldown, and why bulk work is paused near
 * ServiceM8's daily cap. A table for people, `--json` for scripts.
 */
import type { Command } from 'commander';
import type { BudgetUsage } from '../../domain/lanes';
import { examples } from './admin';
import type { CliContext } from './context';
import { table } from './output';

const enc = encodeURIComponent;
const API_NAMES: Record<string, string> = { sm8: 'ServiceM8', qbo: 'QuickBooks' };

/** One row per API; the reasons bulk work is paused follow the table in words. */
export function describeBudget(budgets: BudgetUsage[], width?: number): string {
  const rows = budgets.map((b) => {
    const lane = (name: string) => b.byLane.find((l) => l.lane === name)?.today ?? 0;
    return {
      api: API_NAMES[b.api] ?? b.api,
      'last minute': `${b.lastMinute}/${b.perMinuteLimit}`,
      today: b.perDayLimit === null ? String(b.today) : `${b.today}/${b.perDayLimit}`,
      interactive: lane('interactive'),
      live: lane('live'),
      bulk: lane('bulk'),
      speed: b.slowdown < 1 ? `${Math.round(b.slowdown * 100)}% (after a 429)` : 'full',
      'cooldown until': b.cooldownUntil ?? '',
      'bulk paused until': b.bulkPaused?.until ?? '',
    };
  });
  const columns = [
    'api',
    'last minute',
    'today',
    'interactive',
    'live',
    'bulk',
    'speed',
    'cooldown until',
    'bulk paused until',
  ];
  const lines = [table(rows, columns, { width })];
  for (const b of budgets) if (b.bulkPaused) lines.push('', b.bulkPaused.reason);
  return lines.join('\n');
}

export function registerBudgetCommand(program: Command, ctx: CliContext): void {
  examples(
    program
      .command('budget')
      .description("a connection's API budgets: calls per minute and today, by lane, slowdowns and pauses")
      .argument('<connection>', 'the connection id')
      .action(async (connection: string) => {
        const { data } = await ctx
          .api()
          .get<{ connection: string; budgets: BudgetUsage[] }>(
            `/admin/connections/${enc(connection)}/budget`,
          );
        ctx.out(ctx.json ? JSON.stringify(data, null, 2) : describeBudget(data.budgets, ctx.io.columns));
      }),
    ['sm8qbo budget acme', 'sm8qbo budget acme --json | jq \'.budgets[] | select(.api == "sm8") | .byLane\''],
  );
}
