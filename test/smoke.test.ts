import { Worker } from '@temporalio/worker';
import { healthCheckWorkflow } from '../workflows';
import { createHarness, testDataConverter, type Harness } from './helpers/env';
import { recordHistoryIfAsked } from './helpers/histories';

describe('smoke: workflow -> activity -> PostgreSQL round trip', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('runs the health-check workflow on the real server and writes to the real database', async () => {
    const workflowId = `health-check-${Date.now()}`;
    const result = await h.runWorker(() =>
      h.client.workflow.execute(healthCheckWorkflow, {
        workflowId,
        taskQueue: h.taskQueue,
        args: [{ requestedBy: 'smoke-test' }],
      }),
    );

    expect(result.workflowId).toBe(workflowId);
    expect(result.schemaVersion).toBeGreaterThanOrEqual(1);
    const row = await h.pool.query('SELECT actor, action, entity_ref FROM audit_log WHERE id = $1', [
      result.auditId,
    ]);
    expect(row.rows).toEqual([{ actor: 'smoke-test', action: 'health_check', entity_ref: workflowId }]);

    // The server's own history replays against the current code.
    const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
    await expect(
      Worker.runReplayHistory(
        {
          workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
          dataConverter: testDataConverter(),
        },
        history,
        workflowId,
      ),
    ).resolves.toBeUndefined();
    await recordHistoryIfAsked(h.client, workflowId, 'health-check.json');
  });
});
