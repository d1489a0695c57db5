/**
 * INV-7: an invoice emailed or printed in QuickBooks is sent. Read from a QuickBooks invoice record (a read,
 * or a CDC poll hit, which carries the whole record).
 */
export function sentInQbo(inv: { EmailStatus?: string; PrintStatus?: string }): boolean {
  return inv.EmailStatus === 'EmailSent' || inv.PrintStatus === 'PrintComplete';
}
