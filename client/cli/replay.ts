/**
 * `sm8qbo replay`: replays a workflow's history (from Temporal, or an exported file) against the code in
 * this checkout and prints whether it is deterministic. The only command that needs the Temporal SDK.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type * as PayloadCodecModule from '../../infra/payload-codec';
import { examples } from './admin';
import { CliError, ExitCode, type CliContext } from './context';

async function replay(
  ctx: CliContext,
  workflowId: string | undefined,
  file: string | undefined,
): Promise<number> {
  if (!workflowId && !file)
    throw new CliError(
      ExitCode.usage,
      'replay needs a workflow id or --file FILE (see `sm8qbo help replay`)',
    );
  if (workflowId && file)
    throw new CliError(ExitCode.usage, 'replay takes a workflow id or --file FILE, not both');
  const config = ctx.config();
  // Loaded here, not at the top: the Temporal SDK takes most of a second to load and only replay needs it.
  const { Client, Connection } = await import('@temporalio/client');
  const { historyFromJSON, historyToJSON } = await import('@temporalio/common/lib/proto-utils.js');
  const { Worker, Runtime, DefaultLogger } = await import('@temporalio/worker');
  try {
    // The SDK's default logger would print webpack's bundling chatter around the verdict.
    Runtime.install({ logger: new DefaultLogger(config.logLevel === 'debug' ? 'DEBUG' : 'WARN') });
  } catch {
    // a runtime is already installed in this process (tests)
  }
  // Loaded lazily like the SDK above (it pulls in Temporal's protobufs).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { dataConverterFrom } = require('../../infra/payload-codec') as typeof PayloadCodecModule;
  // Replay decodes with the payload codec (histories are encrypted); `history` exports them as stored.
  const dataConverter = dataConverterFrom(config, { create: false });
  let history;
  if (file) {
    if (!fs.existsSync(file)) throw new CliError(ExitCode.notFound, `no file ${file}`);
    history = historyFromJSON(JSON.parse(fs.readFileSync(file, 'utf8')));
  } else {
    const connection = await Connection.connect({ address: config.temporal.address }).catch(
      (err: unknown) => {
        throw new CliError(
          ExitCode.failure,
          `cannot reach Temporal at ${config.temporal.address} (${(err as Error).message}): set TEMPORAL_ADDRESS, or replay an exported history with --file`,
        );
      },
    );
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
      history = await client.workflow
        .getHandle(workflowId as string)
        .fetchHistory()
        .catch((err: unknown) => {
          throw new CliError(
            ExitCode.notFound,
            `cannot read workflow ${workflowId}: ${(err as Error).message}`,
          );
        });
      // Round-trip through JSON so a history replays exactly as an exported one would.
      history = historyFromJSON(JSON.parse(historyToJSON(history)));
    } finally {
      await connection.close();
    }
  }
  const id = workflowId ?? path.basename(file as string);
  try {
    dataConverter.payloadCodecs[0].assertCanDecrypt(history);
  } catch (err) {
    throw new CliError(ExitCode.failure, `cannot replay ${id}: ${(err as Error).message}`);
  }
  try {
    await Worker.runReplayHistory(
      { workflowsPath: require.resolve('../../workflows'), dataConverter },
      history,
      id,
    );
    ctx.out(
      ctx.json
        ? JSON.stringify({ workflowId: id, deterministic: true })
        : `✓ ${id}: replays deterministically against the current code`,
    );
    return ExitCode.ok;
  } catch (err) {
    const message = (err as Error).message;
    ctx.out(
      ctx.json
        ? JSON.stringify({ workflowId: id, deterministic: false, error: message })
        : `✗ ${id}: NOT deterministic against the current code\n  ${message}`,
    );
    return ExitCode.failure;
  }
}

export function registerReplayCommand(program: Command, ctx: CliContext): void {
  examples(
    program
      .command('replay')
      .description('replay a history against the code in this checkout and print whether it is deterministic')
      .argument('[workflow]', 'a workflow id, read from Temporal (TEMPORAL_ADDRESS)')
      .option('--file <file>', 'a history exported with `sm8qbo history --out`')
      .action(async (workflow: string | undefined, opts: { file?: string }) => {
        ctx.exitCode = await replay(ctx, workflow, opts.file);
      }),
    ['sm8qbo replay invoice/acme/5f1c2b8e-0c4d-4e7a-9a57-1d2e3f4a5b6c', 'sm8qbo replay --file history.json'],
  );
}
