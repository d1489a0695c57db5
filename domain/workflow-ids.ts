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
