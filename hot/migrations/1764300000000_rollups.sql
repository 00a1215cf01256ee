-- Up Migration
-- Warm tier: numeric observations rolled up per (tenant, attribute, entity, slot) as
-- they are inserted, kept for each tenant's warm window. A slot is a stretch of UTC
-- time that never straddles a local hour of the tenant's zone: an hour for zones whose
-- offsets and transitions are whole hours, half an hour or a quarter for the others,
-- a minute for the odd zone that changed at 00:01 (core/buckets.ts, set when a tenant
-- is added; the default fits every zone but those), so HOUR-and-coarser buckets are
-- unions of slots.
--
-- Rows are appended by a statement trigger on `observations` (ingest, bulk COPY, seed
-- and every other writer go through it; moving rows between partitions does not), one
-- row per slot and statement: concurrent writers never wait on each other's slots.
-- The tiering pass compacts them and drops those past the warm window.

ALTER TABLE tenants
  ADD COLUMN rollup_slot_seconds integer NOT NULL DEFAULT 900
    CHECK (rollup_slot_seconds IN (60, 900, 1800, 3600)),
  -- Rollups hold every row at or after this instant (slot-aligned); the router uses
  -- them only there. New tenants are rolled up from their first row.
  ADD COLUMN rollups_from timestamptz NOT NULL DEFAULT '-infinity';

CREATE TABLE observation_rollups (
  tenant_id text NOT NULL,
  attribute_key integer NOT NULL,
  entity_key bigint NOT NULL,
  slot timestamptz NOT NULL,
  count bigint NOT NULL,
  sum double precision NOT NULL,
  min double precision NOT NULL,
  max double precision NOT NULL,
  sum_squares double precision NOT NULL
);
CREATE INDEX observation_rollups_read
  ON observation_rollups (tenant_id, attribute_key, entity_key, slot);
ALTER TABLE observation_rollups ENABLE ROW LEVEL SECURITY;
ALTER TABLE observation_rollups FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON observation_rollups
  USING (tenant_id = current_tenant()) WITH CHECK (tenant_id = current_tenant());
CREATE POLICY operator_all ON observation_rollups TO tidemark_operator
  USING (true) WITH CHECK (true);
GRANT SELECT, INSERT ON observation_rollups TO tidemark_app;

CREATE FUNCTION roll_up_observations() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER observations_roll_up
  AFTER INSERT ON observations
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION roll_up_observations();

-- Rows already stored: those not yet tiered are all still in PostgreSQL; older ones
-- are only in cold files, so rollups start at the watermark.
INSERT INTO observation_rollups
SELECT o.tenant_id, o.attribute_key, o.entity_key,
       to_timestamp(div(extract(epoch FROM o.ts)::numeric, 900) * 900),
       count(*), sum(o.num), min(o.num), max(o.num), sum(o.num * o.num)
  FROM observations o, tier_watermark w
 WHERE o.num IS NOT NULL AND o.ts >= w.cold_before
 GROUP BY 1, 2, 3, 4;
UPDATE tenants SET rollups_from = (SELECT cold_before FROM tier_watermark);

-- Down Migration
DROP TRIGGER observations_roll_up ON observations;
DROP FUNCTION roll_up_observations();
DROP TABLE observation_rollups;
ALTER TABLE tenants DROP COLUMN rollup_slot_seconds, DROP COLUMN rollups_from;
