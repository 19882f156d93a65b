-- The operator's mail page lists what was not delivered; sent rows, the great majority, stay out
-- of the index.
CREATE INDEX outbox_undelivered ON outbox (created_at) WHERE status <> 'sent';
