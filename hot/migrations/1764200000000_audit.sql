-- Up Migration
-- Every GraphQL operation, as the gateway saw it. Written in batches through the OLTP
-- subgraph (the gateway touches no database); readable by a tenant's admins only.
CREATE TABLE audit_log (
  tenant_id text NOT NULL,
  at timestamptz NOT NULL,
  request_id text NOT NULL,
  subject text NOT NULL,
  operation_name text,
  document_hash text NOT NULL,
  variables_hash text NOT NULL,
  duration_ms integer NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('ok', 'error')),
  subgraphs text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, at, request_id)
);
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
  USING (tenant_id = current_tenant()) WITH CHECK (tenant_id = current_tenant());
CREATE POLICY operator_all ON audit_log TO tidemark_operator USING (true) WITH CHECK (true);
GRANT SELECT, INSERT ON audit_log TO tidemark_app;

-- Down Migration
DROP TABLE audit_log;
