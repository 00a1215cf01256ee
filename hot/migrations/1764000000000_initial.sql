-- Up Migration
-- Hot tier schema. tenant_id leads every key and index; every tenant table is under
-- FORCEd row-level security evaluated against the per-transaction setting
-- app.tenant_id, and fails closed when it is unset or empty.

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tidemark_app') THEN
    CREATE ROLE tidemark_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  -- Operators (migrations, tiering, the CLI) see every tenant through an explicit
  -- policy for this role; the application role is never a member.
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tidemark_operator') THEN
    CREATE ROLE tidemark_operator NOLOGIN;
  END IF;
END $$;
GRANT tidemark_operator TO CURRENT_USER;

CREATE FUNCTION current_tenant() RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '') $$;

CREATE TABLE tenants (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  name text NOT NULL,
  time_zone text NOT NULL,
  hot_days integer NOT NULL DEFAULT 7 CHECK (hot_days BETWEEN 1 AND 365),
  warm_days integer NOT NULL DEFAULT 30 CHECK (warm_days BETWEEN 1 AND 3650),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE entities (
  tenant_id text NOT NULL REFERENCES tenants (id),
  entity_key bigint GENERATED ALWAYS AS IDENTITY,
  id text NOT NULL CHECK (length(id) BETWEEN 1 AND 200),
  kind text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, entity_key)
);
CREATE INDEX entities_kind ON entities (tenant_id, kind, id);

CREATE TYPE attribute_type AS ENUM ('number', 'string', 'boolean');

CREATE TABLE attributes (
  tenant_id text NOT NULL REFERENCES tenants (id),
  attribute_key integer GENERATED ALWAYS AS IDENTITY,
  name text NOT NULL CHECK (name ~ '^[A-Za-z][A-Za-z0-9_.-]{0,99}$'),
  type attribute_type NOT NULL,
  unit text,
  description text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name),
  UNIQUE (tenant_id, attribute_key)
);

-- The EAV fact. Exactly one of num/str/bool is set, matching the attribute's type.
CREATE TABLE observations (
  tenant_id text NOT NULL,
  attribute_key integer NOT NULL,
  entity_key bigint NOT NULL,
  ts timestamptz NOT NULL,
  num double precision,
  str text,
  bool boolean,
  PRIMARY KEY (tenant_id, attribute_key, entity_key, ts),
  CHECK (num_nonnulls(num, str, bool) = 1)
) PARTITION BY RANGE (ts);
CREATE TABLE observations_default PARTITION OF observations DEFAULT;

-- Tiering freezes a daily partition with this trigger before copying it out: a write
-- into a frozen day fails fast with SQLSTATE TM001 and is retried by the writer once
-- the day has left (its rows then land in the default partition as late rows).
CREATE FUNCTION reject_frozen_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'day partition % is frozen for tiering', TG_TABLE_NAME USING ERRCODE = 'TM001';
END $$;

-- Cold tier manifest: readers see only files listed here, so a half-written file is
-- never visible.
CREATE TABLE cold_files (
  tenant_id text NOT NULL,
  day date NOT NULL,
  path text NOT NULL,
  row_count bigint NOT NULL,
  checksum text NOT NULL,
  min_ts timestamptz NOT NULL,
  max_ts timestamptz NOT NULL,
  bytes bigint NOT NULL,
  pass_id bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, day, path)
);

-- Global tier state (not tenant data): days before cold_before have left their hot
-- partitions; their late rows wait in observations_default for the next pass.
CREATE TABLE tier_watermark (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  cold_before timestamptz NOT NULL DEFAULT '-infinity',
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO tier_watermark DEFAULT VALUES;

CREATE TABLE tier_passes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  outcome text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'succeeded', 'failed')),
  days_moved integer NOT NULL DEFAULT 0,
  rows_moved bigint NOT NULL DEFAULT 0,
  error text
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tenants', 'entities', 'attributes', 'observations', 'observations_default', 'cold_files'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (%s = current_tenant()) WITH CHECK (%s = current_tenant())',
      t, CASE t WHEN 'tenants' THEN 'id' ELSE 'tenant_id' END, CASE t WHEN 'tenants' THEN 'id' ELSE 'tenant_id' END);
    EXECUTE format('CREATE POLICY operator_all ON %I TO tidemark_operator USING (true) WITH CHECK (true)', t);
  END LOOP;
END $$;

GRANT USAGE ON SCHEMA public TO tidemark_app;
GRANT EXECUTE ON FUNCTION current_tenant() TO tidemark_app;
GRANT SELECT ON tenants, cold_files, tier_watermark, tier_passes TO tidemark_app;
GRANT SELECT, INSERT, UPDATE ON entities, attributes TO tidemark_app;
GRANT SELECT, INSERT ON observations, observations_default TO tidemark_app;

-- Down Migration
DROP TABLE tier_passes, tier_watermark, cold_files, observations, attributes, entities, tenants;
DROP TYPE attribute_type;
DROP FUNCTION current_tenant();
DROP FUNCTION reject_frozen_day();
