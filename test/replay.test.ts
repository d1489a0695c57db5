import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR } from './helpers/histories';
import { testDataConverter, testEnv } from './helpers/env';

// Every committed history must replay against the current workflow code (determinism guard), through the
// payload codec as in production: their payloads are plaintext, which the codec passes through.
const files = fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));

describe('replay of recorded histories', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s replays without non-determinism', async (file) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: testEnv.workflowBundlePath }, dataConverter: testDataConverter() },
      [{ workflowId: file, history }],
    );
    for await (const result of results) {
      expect(result.error).toBeUndefined();
    }
  });
});

describe('the replay guard itself', () => {
  it('fails when a workflow changes its commands (a deliberately non-deterministic version)', async () => {
    const { bundleWorkflowCode } = await import('@temporalio/worker');
    const bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./fixtures/nondeterministic'),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    const history = historyFromJSON(
      JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, 'health-check.json'), 'utf8')),
    );
    await expect(
      Worker.runReplayHistory({ workflowBundle: bundle }, history, 'health-check'),
    ).rejects.toThrow(/[Nn]ondeterminism|DeterminismViolation/);
  });
});
