-- Installed by SqlEngine.Initialize at every API start; every statement is idempotent.
-- Serialise concurrent initialisations (API start racing an explicit POST …/initialize).
SELECT pg_advisory_xact_lock(hashtext('splitgraph.initialize'));

CREATE SCHEMA IF NOT EXISTS splitgraph_audit;
REVOKE ALL ON SCHEMA splitgraph_audit FROM public;

-- One row per logged change. Inserts and deletes keep the whole row; updates keep the old row (row_data) and the
-- new one (changed_fields; logs written before that held only the changed columns, and readers accept both).
CREATE TABLE IF NOT EXISTS splitgraph_audit.logged_actions (
    event_id bigserial PRIMARY KEY,
    schema_name text NOT NULL,
    table_name text NOT NULL,
    action char(1) NOT NULL CHECK (action IN ('I', 'D', 'U')),
    row_data jsonb NOT NULL,
    changed_fields jsonb,
    action_tstamp timestamptz NOT NULL DEFAULT now()
);

-- One index serves per-table paging (ordered by event_id) and per-table counts by action (index-only scan).
CREATE INDEX IF NOT EXISTS logged_actions_table_event_idx
    ON splitgraph_audit.logged_actions (schema_name, table_name, event_id) INCLUDE (action);

-- Inserts and deletes are logged per statement from transition tables: one trigger call per statement,
-- static SQL (PL/pgSQL caches a plan per table). Whole rows are written r.* : a bare r would mean a user
-- column called "r" when the table has one.
CREATE OR REPLACE FUNCTION splitgraph_audit.log_inserts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, 'I', to_jsonb(r.*) FROM sg_new_rows r;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION splitgraph_audit.log_deletes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, 'D', to_jsonb(r.*) FROM sg_old_rows r;
    RETURN NULL;
END $$;

-- Updates are logged per row: transition tables of an UPDATE do not pair old and new rows.
-- A no-op update (no column changed) is not logged. changed_fields holds the whole new row: diffing it against the
-- old one here (jsonb_each + jsonb_object_agg per row) cost ~8% of single-row update throughput; readers compare.
CREATE OR REPLACE FUNCTION splitgraph_audit.log_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    old_row jsonb := to_jsonb(OLD);
    new_row jsonb := to_jsonb(NEW);
BEGIN
    IF old_row = new_row THEN
        RETURN NULL;
    END IF;
    INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, changed_fields)
    VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'U', old_row, new_row);
    RETURN NULL;
END $$;

-- TRUNCATE is not lost: every row present before it becomes a pending delete.
CREATE OR REPLACE FUNCTION splitgraph_audit.log_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data) '
        'SELECT %L, %L, ''D'', to_jsonb(r.*) FROM %I.%I r',
        TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME);
    RETURN NULL;
END $$;

CREATE SCHEMA IF NOT EXISTS splitgraph_meta;
REVOKE ALL ON SCHEMA splitgraph_meta FROM public;

-- The object catalogue: one row per object table splitgraph_meta."<object_id>".
CREATE TABLE IF NOT EXISTS splitgraph_meta.objects (
    object_id text PRIMARY KEY CHECK (object_id ~ '^o[0-9a-f]{62}$'),
    format text NOT NULL DEFAULT 'FRAG',
    row_count bigint NOT NULL,
    size_bytes bigint NOT NULL,
    schema_spec jsonb NOT NULL,
    has_primary_key boolean NOT NULL,
    content_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE EXTENSION IF NOT EXISTS postgres_fdw;

-- Creates (or refreshes) the foreign server and user mapping for another engine. Downloads give each object its own
-- server name and drop it in the same transaction, so nothing is left behind by a crash. Values arrive as parameters
-- and are quoted here with %L, so a password never has to be spliced into SQL text by the caller.
CREATE OR REPLACE FUNCTION splitgraph_meta.ensure_foreign_server(
    server_name text, host text, port int, dbname text, username text, password text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Concurrent transfers from one remote would otherwise race on the server and mapping rows
    -- ("tuple concurrently updated"); held until the caller's transaction ends.
    PERFORM pg_advisory_xact_lock(hashtext('splitgraph.fdw.' || server_name));
    IF NOT EXISTS (SELECT 1 FROM pg_foreign_server WHERE srvname = server_name) THEN
        EXECUTE format('CREATE SERVER %I FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host %L, port %L, dbname %L, fetch_size %L)',
            server_name, host, port::text, dbname, '10000');
    ELSE
        EXECUTE format('ALTER SERVER %I OPTIONS (SET host %L, SET port %L, SET dbname %L)', server_name, host, port::text, dbname);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_user_mappings WHERE srvname = server_name AND usename = current_user) THEN
        EXECUTE format('DROP USER MAPPING FOR CURRENT_USER SERVER %I', server_name);
    END IF;
    EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (user %L, password %L)', server_name, username, password);
END $$;
