-- Issue 13: the product finds or creates each QuickBooks customer and item once, however many exports race
-- for it. A turn is a lease row: whoever inserts it (or takes over an expired one) finds or creates the
-- record; the others wait and then find it. A row, not a session advisory lock, so a waiter holds no
-- database connection while the holder calls QuickBooks.
CREATE TABLE creation_turns (
  turn_key text PRIMARY KEY,
  holder   text NOT NULL,
  until    timestamptz NOT NULL
);
