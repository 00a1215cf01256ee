-- The Iceberg JDBC catalog's two tables, in their own schema of the hot database.
-- Trino's JDBC catalog does not create them itself ("Cannot check and eventually
-- update SQL schema" until they exist); this is Iceberg's V1 catalog schema.
CREATE SCHEMA IF NOT EXISTS iceberg_catalog;
CREATE TABLE IF NOT EXISTS iceberg_catalog.iceberg_namespace_properties (
  catalog_name varchar(255) NOT NULL,
  namespace varchar(255) NOT NULL,
  property_key varchar(255),
  property_value varchar(1000),
  PRIMARY KEY (catalog_name, namespace, property_key)
);
CREATE TABLE IF NOT EXISTS iceberg_catalog.iceberg_tables (
  catalog_name varchar(255) NOT NULL,
  table_namespace varchar(255) NOT NULL,
  table_name varchar(255) NOT NULL,
  metadata_location varchar(1000),
  previous_metadata_location varchar(1000),
  iceberg_type varchar(5),
  PRIMARY KEY (catalog_name, table_namespace, table_name)
);
