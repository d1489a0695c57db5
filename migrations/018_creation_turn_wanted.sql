-- Issue 12: priority inheritance through a name turn. A waiter of a higher lane (an approval's export)
-- marks the turn it waits for; the holder (say, a poll-found export in the live lane, or onboarding's import
-- in the bulk lane) sees the mark and asks for its remaining permits in the waiter's lane, so the approval
-- waits for the holder's few calls, not for the holder's whole lane. 0 interactive, 1 live, 2 bulk.
ALTER TABLE creation_turns ADD COLUMN wanted_rank smallint;
