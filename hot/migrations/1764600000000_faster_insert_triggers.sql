-- Up Migration
-- The two statement triggers on observations, same results, less work per row. In an
-- EXPLAIN ANALYZE of one 5,000-row ingest batch they took about half of the INSERT's
-- time (roll-up 37-40 ms, change notice 12 ms, the insert itself 53 ms):
-- - the slot: date_bin on the timestamp's microseconds instead of numeric arithmetic
--   on its epoch (the same instant for every timestamp after 1970; ingest refuses
--   earlier ones, INGEST_MIN_TIMESTAMP);
-- - the notice: the distinct (tenant, UTC day) pairs first, formatted after, instead
--   of formatting every row's day.

CREATE OR REPLACE FUNCTION roll_up_observations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO observation_rollups
  SELECT n.tenant_id, n.attribute_key, n.entity_key,
         date_bin(make_interval(secs => t.rollup_slot_seconds), n.ts, 'epoch'),
         count(*), sum(n.num), min(n.num), max(n.num), sum(n.num * n.num)
    FROM inserted n
    JOIN tenants t ON t.id = n.tenant_id
   WHERE n.num IS NOT NULL
   GROUP BY 1, 2, 3, 4;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION notify_inserted_tenants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tidemark_changes', d.tenant_id || ' ' || to_char(d.day, 'YYYY-MM-DD'))
     FROM (SELECT DISTINCT tenant_id, (ts AT TIME ZONE 'UTC')::date AS day FROM inserted) d;
  RETURN NULL;
END $$;

-- Down Migration
CREATE OR REPLACE FUNCTION roll_up_observations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO observation_rollups
  SELECT n.tenant_id, n.attribute_key, n.entity_key,
         to_timestamp(div(extract(epoch FROM n.ts)::numeric, t.rollup_slot_seconds)
                      * t.rollup_slot_seconds),
         count(*), sum(n.num), min(n.num), max(n.num), sum(n.num * n.num)
    FROM inserted n
    JOIN tenants t ON t.id = n.tenant_id
   WHERE n.num IS NOT NULL
   GROUP BY 1, 2, 3, 4;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION notify_inserted_tenants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tidemark_changes', d.tenant_id || ' ' || d.day)
     FROM (SELECT DISTINCT tenant_id, to_char((ts AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day
             FROM inserted) d;
  RETURN NULL;
END $$;
