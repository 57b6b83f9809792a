-- When a scheduler last claimed a reference's evaluation (Unix ms): replicas sharing the
-- database evaluate each due version once between them.
ALTER TABLE reference_profiles ADD COLUMN scheduled_at BIGINT;
