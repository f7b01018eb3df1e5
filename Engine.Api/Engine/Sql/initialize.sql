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

-- Bulk insert entries hold up to 10,000 keys each (see log_inserts): lz4 compresses them about 3x faster than pglz,
-- a third of their cost in a tracked bulk load. Servers built without lz4 keep pglz.
DO $$
BEGIN
    IF (SELECT attcompression FROM pg_attribute
        WHERE attrelid = 'splitgraph_audit.logged_actions'::regclass AND attname = 'row_data') IS DISTINCT FROM 'l' THEN
        EXECUTE 'ALTER TABLE splitgraph_audit.logged_actions ALTER COLUMN row_data SET COMPRESSION lz4';
    END IF;
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'splitgraph_audit.logged_actions.row_data keeps pglz: %', SQLERRM;
END $$;

-- One index serves per-table paging (ordered by event_id) and per-table counts by action (index-only scan).
CREATE INDEX IF NOT EXISTS logged_actions_table_event_idx
    ON splitgraph_audit.logged_actions (schema_name, table_name, event_id) INCLUDE (action);

-- Pending-change counts stay O(1) however long the log grows (counting 1M log rows through an index takes ~0.4 s).
-- Inserts and deletes are counted here, once per statement, by the statement-level triggers; each backend adds to
-- its own slot (its pid), so concurrent writers never wait on each other's counter row. Readers sum the slots.
-- Discards add negative amounts and fold idle slots into slot 0. Updates are logged per row, where a counter row
-- updated once per row would grow a version chain; they are counted through the small partial index below.
DO $$
BEGIN
    IF to_regclass('splitgraph_audit.pending_counts') IS NULL THEN
        CREATE TABLE splitgraph_audit.pending_counts (
            schema_name text NOT NULL,
            table_name text NOT NULL,
            slot int NOT NULL,
            inserted bigint NOT NULL DEFAULT 0,
            deleted bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (schema_name, table_name, slot)
        ) WITH (fillfactor = 50);
        -- An engine initialised by an older version already has a log: start from its counts.
        LOCK TABLE splitgraph_audit.logged_actions IN SHARE ROW EXCLUSIVE MODE;
        INSERT INTO splitgraph_audit.pending_counts (schema_name, table_name, slot, inserted, deleted)
        SELECT schema_name, table_name, 0, count(*) FILTER (WHERE action = 'I'), count(*) FILTER (WHERE action = 'D')
        FROM splitgraph_audit.logged_actions GROUP BY schema_name, table_name; -- (bulk entries came later than the counters)
    END IF;
END $$;

CREATE INDEX IF NOT EXISTS logged_actions_updates_idx
    ON splitgraph_audit.logged_actions (schema_name, table_name) WHERE action = 'U';

-- Adds to the calling backend's counter slot for one table (the trigger functions inline the same statement).
CREATE OR REPLACE FUNCTION splitgraph_audit.add_counts(p_schema text, p_table text, p_inserted bigint, p_deleted bigint)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    INSERT INTO splitgraph_audit.pending_counts AS c (schema_name, table_name, slot, inserted, deleted)
    VALUES (p_schema, p_table, pg_backend_pid(), p_inserted, p_deleted)
    ON CONFLICT (schema_name, table_name, slot)
    DO UPDATE SET inserted = c.inserted + excluded.inserted, deleted = c.deleted + excluded.deleted;
$$;

-- Raw counts of one table's pending inserts, deletes and updates.
CREATE OR REPLACE FUNCTION splitgraph_audit.count_changes(p_schema text, p_table text,
    OUT inserted bigint, OUT deleted bigint, OUT updated bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(c.inserted), 0)::bigint, coalesce(sum(c.deleted), 0)::bigint,
           (SELECT count(*) FROM splitgraph_audit.logged_actions l
            WHERE l.schema_name = p_schema AND l.table_name = p_table AND l.action = 'U')
    FROM splitgraph_audit.pending_counts c WHERE c.schema_name = p_schema AND c.table_name = p_table;
$$;

-- Tables of a schema with pending changes.
CREATE OR REPLACE FUNCTION splitgraph_audit.changed_tables(p_schema text) RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT table_name FROM splitgraph_audit.pending_counts WHERE schema_name = p_schema
    GROUP BY table_name HAVING sum(inserted) <> 0 OR sum(deleted) <> 0
    UNION
    SELECT DISTINCT table_name FROM splitgraph_audit.logged_actions WHERE schema_name = p_schema AND action = 'U';
$$;

-- Deletes the log rows of a schema (or one table of it) visible to the caller's snapshot and takes them off the
-- counts; returns how many changes (a bulk entry counts its rows). Under read committed it also folds idle counter
-- slots into slot 0 (skipping slots a running writer holds). A repeatable-read caller (commit) skips the fold: locking
-- a slot a writer updated after the snapshot would be a serialisation failure.
CREATE OR REPLACE FUNCTION splitgraph_audit.discard_changes(p_schema text, p_table text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    gone record;
    total bigint := 0;
    folded_tables bigint;
BEGIN
    FOR gone IN
        WITH d AS (
            DELETE FROM splitgraph_audit.logged_actions
            WHERE schema_name = p_schema AND (p_table IS NULL OR table_name = p_table)
            RETURNING table_name, action, CASE WHEN action = 'I' THEN coalesce((changed_fields ->> 'sg_bulk')::bigint, 1) ELSE 1 END AS rows)
        SELECT table_name, sum(rows)::bigint AS n, coalesce(sum(rows) FILTER (WHERE action = 'I'), 0)::bigint AS i,
               count(*) FILTER (WHERE action = 'D') AS d
        FROM d GROUP BY table_name
    LOOP
        total := total + gone.n;
        IF gone.i <> 0 OR gone.d <> 0 THEN
            PERFORM splitgraph_audit.add_counts(p_schema, gone.table_name, -gone.i, -gone.d);
        END IF;
    END LOOP;

    IF current_setting('transaction_isolation') = 'read committed' THEN
        WITH idle AS (
            DELETE FROM splitgraph_audit.pending_counts
            WHERE ctid = ANY (ARRAY(
                SELECT ctid FROM splitgraph_audit.pending_counts
                WHERE schema_name = p_schema AND (p_table IS NULL OR table_name = p_table) AND slot <> 0
                FOR UPDATE SKIP LOCKED))
            RETURNING table_name, inserted, deleted),
        folded AS (
            INSERT INTO splitgraph_audit.pending_counts AS c (schema_name, table_name, slot, inserted, deleted)
            SELECT p_schema, table_name, 0, sum(inserted), sum(deleted) FROM idle GROUP BY table_name
            ON CONFLICT (schema_name, table_name, slot)
            DO UPDATE SET inserted = c.inserted + excluded.inserted, deleted = c.deleted + excluded.deleted
            RETURNING table_name)
        SELECT count(*) INTO folded_tables FROM folded;
        DELETE FROM splitgraph_audit.pending_counts
        WHERE schema_name = p_schema AND (p_table IS NULL OR table_name = p_table) AND slot = 0 AND inserted = 0 AND deleted = 0;
    END IF;
    RETURN total;
END $$;

-- Primary-key columns of a table in key order, or NULL without one.
CREATE OR REPLACE FUNCTION splitgraph_audit.primary_key_of(p_relid oid) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(a.attname::text ORDER BY k.ord)
    FROM pg_index i
    CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE i.indrelid = p_relid AND i.indisprimary;
$$;

-- Readers expand a bulk entry by the table's current key; an entry logged under another key cannot be read back.
CREATE OR REPLACE FUNCTION splitgraph_audit.bulk_keys(p_row_data jsonb, p_key text[], p_schema text, p_table text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF NOT (p_row_data ?& p_key) OR (SELECT count(*) FROM jsonb_object_keys(p_row_data)) <> cardinality(p_key) THEN
        RAISE EXCEPTION USING ERRCODE = 'SGK01',
            MESSAGE = format('pending bulk inserts of %I.%I were logged under the primary key (%s), not (%s): commit or discard them under the old key',
                p_schema, p_table, (SELECT string_agg(k, ', ') FROM jsonb_object_keys(p_row_data) AS k), array_to_string(p_key, ', '));
    END IF;
    RETURN p_row_data;
END $$;

-- Inserts and deletes are logged per statement from transition tables: one trigger call per statement,
-- static SQL (PL/pgSQL caches a plan per table). Whole rows are written r.* : a bare r would mean a user
-- column called "r" when the table has one.
-- Bulk inserts: past the first 1,000 rows of a statement into a table with a primary key, rows are logged as bulk
-- entries of up to 10,000 keys each, the key columns as JSON arrays (row_data {"id": [1, 2, …]}, changed_fields
-- {"sg_bulk": n}). Writing a jsonb object per row is most of a tracked bulk load's cost (1M rows: 8.5 s logged per
-- row, 2.9 s as key arrays, 1.9 s untracked); the inserted values are the live row or, once changed again, the old
-- row of the key's next log entry, so readers recover them. The LIMIT keeps small statements on the static path.
CREATE OR REPLACE FUNCTION splitgraph_audit.log_inserts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    n bigint;
    rest bigint;
    beyond bigint;
    key_columns text[];
    key_select text;
    key_arrays text;
    key_slices text;
    key_groups text;
BEGIN
    INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, 'I', to_jsonb(r.*) FROM sg_new_rows r LIMIT 1000;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 1000 THEN
        key_columns := splitgraph_audit.primary_key_of(TG_RELID);
        IF key_columns IS NULL THEN
            INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data)
            SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, 'I', to_jsonb(r.*) FROM sg_new_rows r OFFSET 1000;
            GET DIAGNOSTICS rest = ROW_COUNT;
        ELSE
            -- Key columns as k1, k2, … (no clash with user column names), aggregated into arrays a1, a2, …
            SELECT string_agg(format('r.%I AS k%s', c, o), ', ' ORDER BY o),
                   string_agg(format('array_agg(k%s) AS a%s', o, o), ', ' ORDER BY o),
                   string_agg(format('%L, to_jsonb(a%s[i * 10000 + 1 : (i + 1) * 10000])', c, o), ', ' ORDER BY o),
                   string_agg(format('%L, to_jsonb(array_agg(k%s))', c, o), ', ' ORDER BY o)
            INTO key_select, key_arrays, key_slices, key_groups
            FROM unnest(key_columns) WITH ORDINALITY AS x(c, o);
            -- The next million rows: one array per key column, sliced into entries (a transition table scans in
            -- insertion order, so OFFSET picks up exactly where the LIMIT stopped). One plain aggregate costs half
            -- of grouping by a row number, and a million keys bound the memory it takes.
            EXECUTE format(
                'WITH logged AS ('
                '  INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, changed_fields)'
                '  SELECT $1, $2, ''I'', jsonb_build_object(%s), jsonb_build_object(''sg_bulk'', least(10000, s.n - i * 10000))'
                '  FROM (SELECT %s, count(*) AS n FROM (SELECT %s FROM sg_new_rows r OFFSET 1000 LIMIT 1000000) r) s,'
                '       generate_series(0, (s.n + 9999) / 10000 - 1) AS i'
                '  ORDER BY i'
                '  RETURNING (changed_fields ->> ''sg_bulk'')::bigint AS n)'
                'SELECT coalesce(sum(n), 0) FROM logged',
                key_slices, key_arrays, key_select)
            INTO rest USING TG_TABLE_SCHEMA, TG_TABLE_NAME;
            IF rest = 1000000 THEN
                -- Larger statements: the rest in groups of 10,000 by row number, in one pass.
                EXECUTE format(
                    'WITH logged AS ('
                    '  INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, changed_fields)'
                    '  SELECT $1, $2, ''I'', jsonb_build_object(%s), jsonb_build_object(''sg_bulk'', count(*))'
                    '  FROM (SELECT %s, (row_number() OVER () - 1) / 10000 AS sg_part FROM (SELECT * FROM sg_new_rows OFFSET 1001000) r) k'
                    '  GROUP BY sg_part ORDER BY sg_part'
                    '  RETURNING (changed_fields ->> ''sg_bulk'')::bigint AS n)'
                    'SELECT coalesce(sum(n), 0) FROM logged',
                    key_groups, key_select)
                INTO beyond USING TG_TABLE_SCHEMA, TG_TABLE_NAME;
                rest := rest + beyond;
            END IF;
        END IF;
        n := n + rest;
    END IF;
    IF n > 0 THEN
        INSERT INTO splitgraph_audit.pending_counts AS c (schema_name, table_name, slot, inserted)
        VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, pg_backend_pid(), n)
        ON CONFLICT (schema_name, table_name, slot) DO UPDATE SET inserted = c.inserted + excluded.inserted;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION splitgraph_audit.log_deletes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, 'D', to_jsonb(r.*) FROM sg_old_rows r;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        INSERT INTO splitgraph_audit.pending_counts AS c (schema_name, table_name, slot, deleted)
        VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, pg_backend_pid(), n)
        ON CONFLICT (schema_name, table_name, slot) DO UPDATE SET deleted = c.deleted + excluded.deleted;
    END IF;
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
DECLARE
    n bigint;
BEGIN
    EXECUTE format(
        'INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data) '
        'SELECT %L, %L, ''D'', to_jsonb(r.*) FROM %I.%I r',
        TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM splitgraph_audit.add_counts(TG_TABLE_SCHEMA, TG_TABLE_NAME, 0, n);
    END IF;
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
        -- async_capable: scans of several servers under one Append fetch concurrently (downloads split large objects).
        EXECUTE format('CREATE SERVER %I FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host %L, port %L, dbname %L, fetch_size %L, async_capable %L)',
            server_name, host, port::text, dbname, '10000', 'true');
    ELSE
        EXECUTE format('ALTER SERVER %I OPTIONS (SET host %L, SET port %L, SET dbname %L)', server_name, host, port::text, dbname);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_user_mappings WHERE srvname = server_name AND usename = current_user) THEN
        EXECUTE format('DROP USER MAPPING FOR CURRENT_USER SERVER %I', server_name);
    END IF;
    EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (user %L, password %L)', server_name, username, password);
END $$;
