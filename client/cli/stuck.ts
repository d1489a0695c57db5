/**
 * `sm8qbo stuck`: the steps that keep failing (issue 13), with the failure in words; `stuck retry <id>` runs
 * one again now, `stuck dismiss <id>` hides it until its failure changes. Through the admin API
 * (client/stuck-routes.ts).
 */
import type { Command } from 'commander';
import type { CliContext } from './context';
import { examples } from './admin';
import { table } from './output';

const COLUMNS = ['id', 'connectionId', 'workflowId', 'attempts', 'firstFailedAt', 'reason'];

export function registerStuckCommands(program: Command, ctx: CliContext): void {
  const stuck = program
    .command('stuck')
    .description('steps that keep failing, with why (list, retry, dismiss)');

  examples(
    stuck
      .command('list', { isDefault: true })
      .description('list the stuck steps, newest failure first')
      .option('--connection <connection>', 'only this connection')
      .option('--all', 'include dismissed steps')
      .action(async (opts: { connection?: string; all?: boolean }) => {
        const params: Record<string, string> = {};
        if (opts.connection) params.connection = opts.connection;
        if (opts.all) params.all = 'true';
        const { data } = await ctx.api().get<Array<Record<string, unknown>>>('/admin/stuck', { params });
        if (ctx.json) return ctx.out(JSON.stringify(data, null, 2));
        ctx.out(data.length ? table(data, COLUMNS, { width: ctx.io.columns }) : 'Nothing is stuck.');
      }),
    ['sm8qbo stuck', 'sm8qbo stuck --connection acme --all', 'sm8qbo stuck --json'],
  );

  examples(
    stuck
      .command('retry')
      .description('run a stuck step again now (its waiting time is skipped)')
      .argument('<id>', 'the id from `sm8qbo stuck`')
      .action(async (id: string) => {
        const { data } = await ctx.api().post(`/admin/stuck/${encodeURIComponent(id)}/retry`, {});
        ctx.out(ctx.json ? JSON.stringify(data) : `Step ${id} runs again now.`);
      }),
    ['sm8qbo stuck retry 12'],
  );

  examples(
    stuck
      .command('dismiss')
      .description('hide a stuck step until its failure changes (it keeps retrying)')
      .argument('<id>', 'the id from `sm8qbo stuck`')
      .action(async (id: string) => {
        const { data } = await ctx.api().post(`/admin/stuck/${encodeURIComponent(id)}/dismiss`, {});
        ctx.out(ctx.json ? JSON.stringify(data) : `Step ${id} is dismissed.`);
      }),
    ['sm8qbo stuck dismiss 12'],
  );
}
