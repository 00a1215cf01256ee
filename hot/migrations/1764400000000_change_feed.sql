-- Up Migration
-- Change feed: every committed write that can change an answer notifies channel
-- `tidemark_changes` with the tenant it touched ('*' when it may touch every tenant).
-- NOTIFY is transactional: listeners hear of a write when, and only if, it commits.
-- The OLAP subgraph's response cache keys answers by a per-tenant version that these
-- notifications bump (subgraphs/olap/responseCache.ts).
--
-- Triggers, not application code, so every writer is covered: ingest, bulk COPY, late
-- rows, registry upserts, tiering (manifest, watermark, rollups window), seeds and
-- hand-run SQL. pg_notify folds repeats of one payload within a transaction.

CREATE FUNCTION notify_tenant_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  -- TG_ARGV[0]: the column holding the tenant id, absent for global tables.
  tenant text;
BEGIN
  IF TG_NARGS > 0 THEN
    IF TG_OP = 'DELETE' THEN
      tenant := to_jsonb(OLD) ->> TG_ARGV[0];
    ELSE
      tenant := to_jsonb(NEW) ->> TG_ARGV[0];
    END IF;
  END IF;
  PERFORM pg_notify('tidemark_changes', COALESCE(tenant, '*'));
  RETURN NULL;
END $$;

CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE ON tenants
  FOR EACH ROW EXECUTE FUNCTION notify_tenant_change('id');
CREATE TRIGGER entities_changed AFTER INSERT OR UPDATE OR DELETE ON entities
  FOR EACH ROW EXECUTE FUNCTION notify_tenant_change('tenant_id');
CREATE TRIGGER attributes_changed AFTER INSERT OR UPDATE OR DELETE ON attributes
  FOR EACH ROW EXECUTE FUNCTION notify_tenant_change('tenant_id');
CREATE TRIGGER cold_files_changed AFTER INSERT OR UPDATE OR DELETE ON cold_files
  FOR EACH ROW EXECUTE FUNCTION notify_tenant_change('tenant_id');
CREATE TRIGGER tier_watermark_changed AFTER INSERT OR UPDATE OR DELETE ON tier_watermark
  FOR EACH ROW EXECUTE FUNCTION notify_tenant_change();
-- Updates and deletes of observations (tiering clears late rows it has copied; an
-- operator's repair) are rare: one statement-level notice for every tenant.
CREATE TRIGGER observations_changed AFTER UPDATE OR DELETE OR TRUNCATE ON observations
  FOR EACH STATEMENT EXECUTE FUNCTION notify_tenant_change();

-- Inserts: the warm-tier trigger already runs once per statement over the new rows;
-- it names their tenants too.
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
  PERFORM pg_notify('tidemark_changes', d.tenant_id)
     FROM (SELECT DISTINCT tenant_id FROM inserted) d;
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
DROP TRIGGER observations_changed ON observations;
DROP TRIGGER tier_watermark_changed ON tier_watermark;
DROP TRIGGER cold_files_changed ON cold_files;
DROP TRIGGER attributes_changed ON attributes;
DROP TRIGGER entities_changed ON entities;
DROP TRIGGER tenants_changed ON tenants;
DROP FUNCTION notify_tenant_change();
