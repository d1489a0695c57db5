/**
 * Routing and client/ start and signal workflows by type name (WorkflowType in workflows/messages.ts), not by
 * importing workflow code: every name must be a workflow the worker runs, and every workflow must have a name.
 */
import * as workflows from '../../workflows';
import { WorkflowType } from '../../workflows/messages';

describe('workflows/messages', () => {
  it('every WorkflowType is a workflow exported by workflows/, and every workflow has one', () => {
    const exported = Object.entries(workflows)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k)
      .sort();
    expect([...Object.values(WorkflowType)].sort()).toEqual(exported);
  });
});
