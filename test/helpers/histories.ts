/**
 * Recorded workflow histories under test/histories/ are replayed in every test run (test/replay.test.ts),
 * so a non-deterministic change to a workflow fails CI. Re-record with RECORD_HISTORIES=1.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const HISTORIES_DIR = path.resolve(__dirname, '..', 'histories');

export async function recordHistoryIfAsked(
  client: Client,
  workflowId: string,
  fileName: string,
): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  fs.writeFileSync(path.join(HISTORIES_DIR, fileName), historyToJSON(history) + '\n');
}

/** The workflow's history so far replays on today's workflow code; recorded as `fileName` when asked. */
export async function expectReplays(client: Client, workflowId: string, fileName: string): Promise<void> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  await expect(
    Worker.runReplayHistory(
      { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE as string } },
      history,
      workflowId,
    ),
  ).resolves.toBeUndefined();
  await recordHistoryIfAsked(client, workflowId, fileName);
}
