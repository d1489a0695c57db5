-- Operating the webhook inbox (client/inbox-admin.ts): the admin view lists rows of one state newest
-- first, and the relay's hourly retention deletes routed rows by their routing time.
CREATE INDEX webhook_inbox_state ON webhook_inbox (state, id);
CREATE INDEX webhook_inbox_routed_at ON webhook_inbox (routed_at) WHERE state = 'routed';
