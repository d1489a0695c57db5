/** Readable workflow ids (OPS-1): a support person finds "job X of connection Y" by its id alone. */
export function invoiceWorkflowId(connectionId: string, jobUuid: string): string {
  return `invoice/${connectionId}/${jobUuid}`;
}

export function connectionCheckWorkflowId(connectionId: string, suffix: string): string {
  return `connection-check/${connectionId}/${suffix}`;
}

/** PAY-: the owner of every payment of one job's exported invoice. */
export function paymentsWorkflowId(connectionId: string, jobUuid: string): string {
  return `payments/${connectionId}/${jobUuid}`;
}

/** PAY-: a short look at one payment event whose owner a router cannot know yet (no link). */
export function paymentRouteWorkflowId(connectionId: string, source: 'sm8' | 'qbo', id: string): string {
  return `payment-route/${connectionId}/${source}/${id}`;
}
