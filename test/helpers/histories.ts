/**
 * Recorded workflow histories under test/histories/ are replayed in every test run (test/replay.test.ts),
 * so a non-deterministic change to a workflow fails CI. Re-record with RECORD_HISTORIES=1.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { isEncrypted, payloadCodecFrom } from '../../infra/payload-codec';
import { TEST_PAYLOAD_KEYS, testDataConverter } from './env';

export const HISTORIES_DIR = path.resolve(__dirname, '..', 'histories');

/** Every Payload inside `root` (a history, an event, a response), with where it was found. */
export function payloadsIn(root: unknown, at = ''): Array<{ at: string; payload: Payload }> {
  if (root === null || typeof root !== 'object' || root instanceof Uint8Array) return [];
  const o = root as Record<string, unknown>;
  if (o.data instanceof Uint8Array && o.metadata !== null && typeof o.metadata === 'object')
    return [{ at, payload: o as Payload }];
  return Object.keys(o).flatMap((k) => payloadsIn(o[k], at ? `${at}.${k}` : k));
}

/** Decrypts, in place, every encrypted payload of `root` with the test key. */
export async function decryptInPlace(root: unknown): Promise<void> {
  const codec = payloadCodecFrom({ payloadEncryptionKeys: TEST_PAYLOAD_KEYS, dataDir: '' });
  for (const { payload } of payloadsIn(root)) {
    if (!isEncrypted(payload)) continue;
    const [plain] = await codec.decode([payload]);
    payload.metadata = plain?.metadata ?? {};
    payload.data = plain?.data ?? new Uint8Array();
  }
}

export async function recordHistoryIfAsked(
  client: Client,
  workflowId: string,
  fileName: string,
): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  // Committed histories stay readable in review; replay passes plaintext payloads through the codec.
  await decryptInPlace(history);
  fs.writeFileSync(path.join(HISTORIES_DIR, fileName), historyToJSON(history) + '\n');
}

/** The workflow's history so far replays on today's workflow code; recorded as `fileName` when asked. */
export async function expectReplays(client: Client, workflowId: string, fileName: string): Promise<void> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  await expect(
    Worker.runReplayHistory(
      {
        workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE as string },
        dataConverter: testDataConverter(),
      },
      history,
      workflowId,
    ),
  ).resolves.toBeUndefined();
  await recordHistoryIfAsked(client, workflowId, fileName);
}
