/** Readable workflow ids (OPS-1): a support person finds "job X of connection Y" by its id alone. */
export function invoiceWorkflowId(connectionId: string, jobUuid: string): string {
  return `invoice/${connectionId}/${jobUuid}`;
}

export function connectionCheckWorkflowId(connectionId: string, suffix: string): string {
  return `connection-check/${connectionId}/${suffix}`;
}

/** The owner of a connection's tax rates (TAX-3): one per connection, so passes never overlap. */
export function taxWorkflowId(connectionId: string): string {
  return `tax/${connectionId}`;
}

/** The one onboarding workflow of a connection (CM-1): a second start finds the running one. */
export function onboardingWorkflowId(connectionId: string): string {
  return `onboarding/${connectionId}`;
}

/** The owner of one linked customer (CM-2): keyed by the link, which both sides resolve to. */
export function customerWorkflowId(connectionId: string, linkId: string): string {
  return `customer/${connectionId}/${linkId}`;
}

/** The owner of one linked item (CM-2): keyed by the link, which both sides resolve to. */
export function itemWorkflowId(connectionId: string, linkId: string): string {
  return `item/${connectionId}/${linkId}`;
}

/** The bulk read of the customers and items marked dirty on one connection (issue 12). */
export function cmReadWorkflowId(connectionId: string): string {
  return `cm-read/${connectionId}`;
}

/** PAY-: the owner of every payment of one job's exported invoice. */
export function paymentsWorkflowId(connectionId: string, jobUuid: string): string {
  return `payments/${connectionId}/${jobUuid}`;
}

/** PAY-: a short look at one payment event whose owner a router cannot know yet (no link). */
export function paymentRouteWorkflowId(connectionId: string, source: 'sm8' | 'qbo', id: string): string {
  return `payment-route/${connectionId}/${source}/${id}`;
}

/**
 * The connection a workflow id names, for log lines: every id above is `<kind>/<connection>[/…]`, and a
 * scheduled run's id is its schedule's workflow id (`poll/<connection>`) plus `-<start time>`. Undefined for
 * an id of another shape.
 */
export function connectionOfWorkflowId(workflowId: string): string | undefined {
  const match = /^[a-z][a-z-]*\/([^/]+)/.exec(workflowId);
  return match?.[1]?.replace(/-\d{4}-\d{2}-\d{2}T[\d:.]+Z$/, '');
}
