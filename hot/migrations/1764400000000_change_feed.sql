-- Up Migration
-- Change feed: every committed write that can change an answer notifies channel
-- `tidemark_changes` with the tenant it touched ('*' when it may touch every tenant).
-- NOTIFY is transactional: listeners hear of a write when, and only if, it commits.
-- The OLAP subgraph's change feed (hot/changeFeed.ts) turns them into per-tenant data
-- versions, which the gateway's response cache keys answers by (gateway/responseCache.ts).
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

-- Inserts: once per statement, each tenant among its new rows. (The transition table
-- is the one the warm-tier trigger reads: PostgreSQL keeps one per table and event.)
CREATE FUNCTION notify_inserted_tenants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tidemark_changes', d.tenant_id)
     FROM (SELECT DISTINCT tenant_id FROM inserted) d;
  RETURN NULL;
END $$;

CREATE TRIGGER observations_inserted
  AFTER INSERT ON observations
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION notify_inserted_tenants();

-- Down Migration
DROP TRIGGER observations_inserted ON observations;
DROP FUNCTION notify_inserted_tenants();
DROP TRIGGER observations_changed ON observations;
DROP TRIGGER tier_watermark_changed ON tier_watermark;
DROP TRIGGER cold_files_changed ON cold_files;
DROP TRIGGER attributes_changed ON attributes;
DROP TRIGGER entities_changed ON entities;
DROP TRIGGER tenants_changed ON tenants;
DROP FUNCTION notify_tenant_change();
