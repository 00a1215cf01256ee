-- Up Migration
-- Write path: attribute types freeze once values exist, and idempotent ingest batches.

ALTER TABLE attributes ADD COLUMN has_values boolean NOT NULL DEFAULT false;

-- One row per idempotency key; inserted in the same transaction as the batch's rows,
-- so a crash before commit leaves neither and a retry stores the batch once.
CREATE TABLE ingest_batches (
  tenant_id text NOT NULL REFERENCES tenants (id),
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  summary jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, idempotency_key)
);
ALTER TABLE ingest_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE ingest_batches FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ingest_batches
  USING (tenant_id = current_tenant()) WITH CHECK (tenant_id = current_tenant());
CREATE POLICY operator_all ON ingest_batches TO tidemark_operator USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON ingest_batches TO tidemark_app;

-- Down Migration
DROP TABLE ingest_batches;
ALTER TABLE attributes DROP COLUMN has_values;
