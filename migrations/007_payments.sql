-- Payments (PAY-1 … PAY-6): payment_links (001) pairs one ServiceM8 jobpayment with one QuickBooks Payment's
-- application to one invoice. The fingerprints of both sides as last synced tell a QuickBooks change (mirrored
-- to ServiceM8) from a ServiceM8 edit of a sent payment (reverted, PAY-4), and make our own echoes no-ops (PAY-5).
ALTER TABLE payment_links ADD COLUMN sm8_fingerprint text;
ALTER TABLE payment_links ADD COLUMN qbo_fingerprint text;
CREATE INDEX payment_links_job ON payment_links (connection_id, job_uuid);
CREATE INDEX payment_links_qbo_payment ON payment_links (connection_id, qbo_payment_id);
