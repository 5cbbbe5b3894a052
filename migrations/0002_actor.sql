-- Who did what: the identity of the request behind each event (`role:subject` of its
-- signed token, e.g. `participant:alice`); NULL for the server's own deadline events
-- and for requests in the open mode (auth.mode = "off"). Re-applying a batch keeps
-- writing the same value (events are idempotent on event_id).
ALTER TABLE sync_events ADD COLUMN IF NOT EXISTS actor text;
CREATE INDEX IF NOT EXISTS idx_sync_events_actor ON sync_events (actor) WHERE actor IS NOT NULL;
