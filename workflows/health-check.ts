/**
 * The smallest complete path through the product: workflow -> activity -> PostgreSQL and back.
 * Used by `sm8qbo doctor` and by the smoke test to prove the worker, Temporal and the database work.
 */
import { workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HealthCheckInput, HealthCheckResult } from './messages';
import { laneActivities } from './support/activity-options';

const { recordHealthCheck } = laneActivities<Activities>('bulk', {
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

export async function healthCheckWorkflow(input: HealthCheckInput): Promise<HealthCheckResult> {
  const { workflowId } = workflowInfo();
  const recorded = await recordHealthCheck({ requestedBy: input.requestedBy, workflowId });
  return { ...recorded, workflowId };
}
