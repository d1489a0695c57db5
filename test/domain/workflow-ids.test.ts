import {
  connectionOfWorkflowId,
  customerWorkflowId,
  invoiceWorkflowId,
  paymentRouteWorkflowId,
  taxWorkflowId,
} from '../../domain/workflow-ids';

describe('OPS-4: the connection of a workflow id (log lines)', () => {
  it('OPS-4: reads the connection of every owner id and of a scheduled run, and nothing from a foreign id', () => {
    expect(connectionOfWorkflowId(invoiceWorkflowId('acme-plumbing', 'f1c2'))).toBe('acme-plumbing');
    expect(connectionOfWorkflowId(customerWorkflowId('demo', '44'))).toBe('demo');
    expect(connectionOfWorkflowId(paymentRouteWorkflowId('demo', 'qbo', '12'))).toBe('demo');
    expect(connectionOfWorkflowId(taxWorkflowId('demo'))).toBe('demo');
    expect(connectionOfWorkflowId('poll/acme-2026-12-02T22:16:00Z')).toBe('acme');
    expect(connectionOfWorkflowId('temporal-sys-tq-scanner')).toBeUndefined();
  });
});
