-- Up Migration
-- Inserted observations are announced per (tenant, UTC day) instead of per tenant:
-- payload 'tenant YYYY-MM-DD' (tenant ids hold no space). The OLAP subgraph's change
-- feed still moves the tenant's version for it, and also that day's version, so
-- partial aggregates of days nobody wrote to stay cached while today's rows stream in
-- (subgraphs/olap/domain/tierRouter.ts, warm tier). Every other notice is unchanged.

CREATE OR REPLACE FUNCTION notify_inserted_tenants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tidemark_changes', d.tenant_id || ' ' || d.day)
     FROM (SELECT DISTINCT tenant_id, to_char((ts AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day
             FROM inserted) d;
  RETURN NULL;
END $$;

-- Down Migration
CREATE OR REPLACE FUNCTION notify_inserted_tenants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tidemark_changes', d.tenant_id)
     FROM (SELECT DISTINCT tenant_id FROM inserted) d;
  RETURN NULL;
END $$;
