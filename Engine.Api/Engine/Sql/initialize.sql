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

-- Bulk insert entries hold up to 10,000 keys each by default (see log_inserts): lz4 compresses them about 3x faster
-- than pglz, a third of their cost in a tracked bulk load. Servers built without lz4 keep pglz.
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

-- Every function below pins search_path to pg_catalog (then pg_temp, which is never searched for functions or
-- operators), names our own objects schema-qualified and calls built-ins as pg_catalog.x, so nothing a writer
-- defines in public (a format(), an operator) is ever resolved in them. EXECUTE is revoked from PUBLIC at the end of
-- this script: only the owner (the API) calls them; triggers fire whatever the writer's EXECUTE rights are.
-- The trigger functions stay SECURITY DEFINER: writers of a tracked table have no rights on splitgraph_audit.
-- They also fix the settings that shape logged text (TimeZone, DateStyle, IntervalStyle, extra_float_digits,
-- bytea_output; see fix_output_settings), so a value is logged the same whoever writes it and under whatever session settings: a timestamptz
-- key written under UTC and updated under Asia/Tokyo is one key, an interval key reads the same under any
-- IntervalStyle, a float8 key is its exact value under extra_float_digits = 0.

-- Adds to the calling backend's counter slot for one table (the trigger functions inline the same statement).
CREATE OR REPLACE FUNCTION splitgraph_audit.add_counts(p_schema text, p_table text, p_inserted bigint, p_deleted bigint)
RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO splitgraph_audit.pending_counts AS c (schema_name, table_name, slot, inserted, deleted)
    VALUES (p_schema, p_table, pg_catalog.pg_backend_pid(), p_inserted, p_deleted)
    ON CONFLICT (schema_name, table_name, slot)
    DO UPDATE SET inserted = c.inserted + excluded.inserted, deleted = c.deleted + excluded.deleted;
$$;

-- Raw counts of one table's pending inserts, deletes and updates.
CREATE OR REPLACE FUNCTION splitgraph_audit.count_changes(p_schema text, p_table text,
    OUT inserted bigint, OUT deleted bigint, OUT updated bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(pg_catalog.sum(c.inserted), 0)::bigint, coalesce(pg_catalog.sum(c.deleted), 0)::bigint,
           (SELECT pg_catalog.count(*) FROM splitgraph_audit.logged_actions l
            WHERE l.schema_name = p_schema AND l.table_name = p_table AND l.action = 'U')
    FROM splitgraph_audit.pending_counts c WHERE c.schema_name = p_schema AND c.table_name = p_table;
$$;

-- Tables of a schema with pending changes.
CREATE OR REPLACE FUNCTION splitgraph_audit.changed_tables(p_schema text) RETURNS SETOF text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT table_name FROM splitgraph_audit.pending_counts WHERE schema_name = p_schema
    GROUP BY table_name HAVING pg_catalog.sum(inserted) <> 0 OR pg_catalog.sum(deleted) <> 0
    UNION
    SELECT DISTINCT table_name FROM splitgraph_audit.logged_actions WHERE schema_name = p_schema AND action = 'U';
$$;

-- Deletes the log rows of a schema (or one table of it) visible to the caller's snapshot and takes them off the
-- counts; returns how many changes (a bulk entry counts its rows). Under read committed it also folds idle counter
-- slots into slot 0 (skipping slots a running writer holds). A repeatable-read caller (commit) skips the fold: locking
-- a slot a writer updated after the snapshot would be a serialisation failure.
CREATE OR REPLACE FUNCTION splitgraph_audit.discard_changes(p_schema text, p_table text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
        SELECT table_name, pg_catalog.sum(rows)::bigint AS n, coalesce(pg_catalog.sum(rows) FILTER (WHERE action = 'I'), 0)::bigint AS i,
               pg_catalog.count(*) FILTER (WHERE action = 'D') AS d
        FROM d GROUP BY table_name
    LOOP
        total := total + gone.n;
        IF gone.i <> 0 OR gone.d <> 0 THEN
            PERFORM splitgraph_audit.add_counts(p_schema, gone.table_name, -gone.i, -gone.d);
        END IF;
    END LOOP;

    IF pg_catalog.current_setting('transaction_isolation') = 'read committed' THEN
        WITH idle AS (
            DELETE FROM splitgraph_audit.pending_counts
            WHERE ctid = ANY (ARRAY(
                SELECT ctid FROM splitgraph_audit.pending_counts
                WHERE schema_name = p_schema AND (p_table IS NULL OR table_name = p_table) AND slot <> 0
                FOR UPDATE SKIP LOCKED))
            RETURNING table_name, inserted, deleted),
        folded AS (
            INSERT INTO splitgraph_audit.pending_counts AS c (schema_name, table_name, slot, inserted, deleted)
            SELECT p_schema, table_name, 0, pg_catalog.sum(inserted), pg_catalog.sum(deleted) FROM idle GROUP BY table_name
            ON CONFLICT (schema_name, table_name, slot)
            DO UPDATE SET inserted = c.inserted + excluded.inserted, deleted = c.deleted + excluded.deleted
            RETURNING table_name)
        SELECT pg_catalog.count(*) INTO folded_tables FROM folded;
        DELETE FROM splitgraph_audit.pending_counts
        WHERE schema_name = p_schema AND (p_table IS NULL OR table_name = p_table) AND slot = 0 AND inserted = 0 AND deleted = 0;
    END IF;
    RETURN total;
END $$;

-- Primary-key columns of a table in key order, or NULL without one.
CREATE OR REPLACE FUNCTION splitgraph_audit.primary_key_of(p_relid oid) RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.array_agg(a.attname::text ORDER BY k.ord)
    FROM pg_catalog.pg_index i
    CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE i.indrelid = p_relid AND i.indisprimary;
$$;

-- Readers expand a bulk entry by the table's current key; an entry logged under another key cannot be read back.
CREATE OR REPLACE FUNCTION splitgraph_audit.bulk_keys(p_row_data jsonb, p_key text[], p_schema text, p_table text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (p_row_data ?& p_key) OR (SELECT pg_catalog.count(*) FROM pg_catalog.jsonb_object_keys(p_row_data)) <> pg_catalog.cardinality(p_key) THEN
        RAISE EXCEPTION USING ERRCODE = 'SGK01',
            MESSAGE = pg_catalog.format('pending bulk inserts of %I.%I were logged under the primary key (%s), not (%s): commit or discard them under the old key',
                p_schema, p_table, (SELECT pg_catalog.string_agg(k, ', ') FROM pg_catalog.jsonb_object_keys(p_row_data) AS k),
                pg_catalog.array_to_string(p_key, ', '));
    END IF;
    RETURN p_row_data;
END $$;

-- A live row as the log writes rows (same fixed settings as the trigger functions), for readers that compare a live
-- row with logged ones whatever the reading session's TimeZone or IntervalStyle.
-- A row as jsonb for tables with json columns (trigger argument 'json'): jsonb cannot hold the escape \u0000 that a
-- json value may contain, and to_jsonb then fails inside the writer's own statement. Such a row is logged with each of
-- its values that jsonb refuses as a jsonb string of its json text (shown that way in the change views; commits and
-- row identity do not read values from row_data: they take live rows or, without a key, the exact row_text).
-- The exception block costs a subtransaction per call, so only tables with json columns use it.
CREATE OR REPLACE FUNCTION splitgraph_audit.row_jsonb(p_row anyelement) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    result jsonb := '{}';
    col name;
    value text;
BEGIN
    RETURN pg_catalog.to_jsonb(p_row);
EXCEPTION WHEN untranslatable_character THEN
    -- Column by column (parsing the whole row's json would fail the same way).
    FOR col IN
        SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.typrelid = a.attrelid
        WHERE t.oid = pg_catalog.pg_typeof(p_row) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
    LOOP
        EXECUTE pg_catalog.format('SELECT pg_catalog.to_json(($1).%I)::text', col) INTO value USING p_row;
        result := result || pg_catalog.jsonb_build_object(col,
            CASE WHEN pg_catalog.strpos(value, '\u0000') > 0 THEN pg_catalog.to_jsonb(value) ELSE value::jsonb END);
    END LOOP;
    RETURN result;
END $$;

CREATE OR REPLACE FUNCTION splitgraph_audit.row_image(p_row anyelement) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC' SET extra_float_digits = 3 SET bytea_output = 'hex' AS $$
    SELECT splitgraph_audit.row_jsonb(p_row);
$$;

-- Whether to_jsonb writes every value of a type exactly, so that equal jsonb text means an identical value (under the
-- log's fixed settings): integers, numeric (scale kept), text types, uuid, bool, dates and times, interval, bytea,
-- enums, and domains over those. Not float4/float8 (-0 becomes 0), json (its text is normalised), jsonb (inside a row's
-- jsonb, SQL NULL and jsonb 'null' are both null), arrays (their lower bounds are lost: '[0:1]={1,2}' and '{1,2}' are
-- both [1,2]), nor composites, ranges or other types (they may hold either; a whitelist keeps new types on the safe
-- side).
-- Down a domain chain in a loop: a recursive CTE in an SQL function cost 0.2 ms a call (planned per call), which
-- initialize pays for every column of every tracked table (sync_trigger_args); this costs 7 µs.
CREATE OR REPLACE FUNCTION splitgraph_audit.jsonb_exact(p_type oid) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kind "char";
    base oid;
    cur oid := p_type;
BEGIN
    LOOP
        SELECT t.typtype, t.typbasetype INTO kind, base FROM pg_catalog.pg_type t WHERE t.oid = cur;
        EXIT WHEN kind IS DISTINCT FROM 'd';
        cur := base;
    END LOOP;
    RETURN kind = 'e' OR cur = ANY ('{bool,int2,int4,int8,numeric,text,varchar,bpchar,name,uuid,date,time,timetz,timestamp,timestamptz,interval,bytea}'::pg_catalog.regtype[]::pg_catalog.oid[]);
END $$;

-- The arguments a table's logging triggers get: 'rows' without a primary key (row texts are logged, see below),
-- 'json' with a json column (directly, as an array, or through a domain; rows are logged through row_jsonb),
-- 'texts' with a primary key and a column that jsonb does not write exactly (see jsonb_exact): row texts are logged
-- too, and the net view decides "back where it started" by them (jsonb would see float8 0 -> -0 as no change). Tables
-- of jsonb-exact columns only, the common case, log no texts.
CREATE OR REPLACE FUNCTION splitgraph_audit.trigger_args(p_relid oid) RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.array_remove(ARRAY[
        CASE WHEN splitgraph_audit.primary_key_of(p_relid) IS NULL THEN 'rows' END,
        CASE WHEN EXISTS (
            SELECT 1 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
            WHERE a.attrelid = p_relid AND a.attnum > 0 AND NOT a.attisdropped
              AND 'pg_catalog.json'::pg_catalog.regtype IN (t.oid, t.typelem, b.oid, b.typelem)) THEN 'json' END,
        CASE WHEN splitgraph_audit.primary_key_of(p_relid) IS NOT NULL AND EXISTS (
            SELECT 1 FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = p_relid AND a.attnum > 0 AND NOT a.attisdropped AND NOT splitgraph_audit.jsonb_exact(a.atttypid)) THEN 'texts' END,
        -- A partitioned table: 'part' and, last, the root's OID (the triggers on its partitions log under the root).
        CASE WHEN (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = p_relid) = 'p' THEN 'part' END,
        CASE WHEN (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = p_relid) = 'p' THEN p_relid::text END], NULL);
$$;

-- Trigger arguments as pg_trigger.tgargs stores them (each argument NUL-terminated), to compare installed triggers
-- with trigger_args: at initialize (sync_trigger_args) and before a commit (ChangeEngine.SyncTriggerModeAsync).
CREATE OR REPLACE FUNCTION splitgraph_audit.encoded_trigger_args(p_args text[]) RETURNS bytea
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(pg_catalog.decode((SELECT pg_catalog.string_agg(x OPERATOR(pg_catalog.||) '\000', '')
        FROM pg_catalog.unnest(p_args) AS x), 'escape'), ''::bytea);
$$;

-- The log's column statement_id groups the entries of one statement (one query: a MERGE or a query with writable
-- CTEs is one). Row-level update entries are written before the statement-level insert and delete entries of the
-- same statement, so log order is not the statement's order: readers take a statement's entries as one step (its
-- rows before, then its rows after). Old log rows without it are each their own step.
ALTER TABLE splitgraph_audit.logged_actions ADD COLUMN IF NOT EXISTS statement_id bigint;

-- Tables without a primary key are tracked with the trigger argument 'rows': their rows have no identity but their
-- whole value, so each entry also keeps the exact row text (row_text: the inserted, deleted or old row; new_text: an
-- update's new row), written under the fixed settings below. jsonb cannot be that identity: it writes float8 -0 as 0
-- and normalises json text. Readers take the changes of such a table as a multiset of row texts (ChangeLogSql.Copies).
-- Keyed tables with a column that jsonb does not write exactly (trigger argument 'texts') log the same texts, except in
-- bulk insert entries; the net view compares a key's first old text with its last new one (ChangeLogSql.Net).
ALTER TABLE splitgraph_audit.logged_actions ADD COLUMN IF NOT EXISTS row_text text;
ALTER TABLE splitgraph_audit.logged_actions ADD COLUMN IF NOT EXISTS new_text text;

-- A row's text as the log writes it (fixed settings), for entries logged without row_text (older logs).
CREATE OR REPLACE FUNCTION splitgraph_audit.record_text(p_row anyelement) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC' SET extra_float_digits = 3 SET bytea_output = 'hex' AS $$
    SELECT p_row::text;
$$;

-- BEFORE each INSERT/UPDATE/DELETE statement on a tracked table: marks the statement's ID as not drawn yet ('-') in a
-- transaction-local setting per trigger depth. The first AFTER trigger of the query draws it from the log's sequence
-- (after every row lock the query waited for, so it orders after any change to the same rows by another transaction)
-- and the others reuse it: every AFTER trigger of a query fires after all its BEFORE STATEMENT triggers (a MERGE fires
-- one per action). Drawn by the AFTER triggers through the same snippet (see log_update).
CREATE OR REPLACE FUNCTION splitgraph_audit.begin_statement() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ignored text;
BEGIN
    -- An assignment is a simple expression for PL/pgSQL (PERFORM would start an executor for it).
    ignored := pg_catalog.set_config('splitgraph.statement_' || pg_catalog.pg_trigger_depth(), '-', true);
    RETURN NULL;
END $$;

-- The settings that shape logged text are fixed for the trigger functions below, but only when the writer's differ
-- from them in a way that shows in output: DateStyle ISO with any field order, IntervalStyle postgres, a UTC TimeZone,
-- extra_float_digits >= 1 (all give the shortest exact float text), bytea_output hex. Then they are set transaction-
-- locally and restored before the trigger returns (an error aborts the statement's (sub)transaction, which restores
-- them too). SET clauses on the functions did the same unconditionally, costing a GUC save and restore of five
-- settings on every call (every updated row).
--
-- Whether the writer's settings differ from those in a way that shows in output. A SQL-standard body without SET
-- clauses, so the planner inlines it into each trigger function's IF and it costs per row what the same expression
-- written out there did (a PL/pgSQL function call per updated row cost 2.5 µs more: 1M calls, 3.5 s against 1.0 s).
-- Its names are resolved once, here at creation, and all are pg_catalog's (operators included): no search_path is read
-- when it runs, so none is pinned (a SET clause would stop the inlining).
CREATE OR REPLACE FUNCTION splitgraph_audit.output_settings_differ() RETURNS boolean
LANGUAGE sql STABLE
RETURN pg_catalog.current_setting('IntervalStyle') OPERATOR(pg_catalog.<>) 'postgres'
    OR pg_catalog.current_setting('bytea_output') OPERATOR(pg_catalog.<>) 'hex'
    OR pg_catalog.int4(pg_catalog.current_setting('extra_float_digits')) OPERATOR(pg_catalog.<) 1
    OR pg_catalog.left(pg_catalog.current_setting('DateStyle'), 4) OPERATOR(pg_catalog.<>) 'ISO,'
    OR pg_catalog.current_setting('TimeZone') OPERATOR(pg_catalog.<>) ALL (ARRAY['UTC', 'Etc/UTC']);

CREATE OR REPLACE FUNCTION splitgraph_audit.fix_output_settings() RETURNS text[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    saved text[] := ARRAY[pg_catalog.current_setting('DateStyle'), pg_catalog.current_setting('IntervalStyle'),
        pg_catalog.current_setting('TimeZone'), pg_catalog.current_setting('extra_float_digits'), pg_catalog.current_setting('bytea_output')];
BEGIN
    PERFORM pg_catalog.set_config('DateStyle', 'ISO, YMD', true), pg_catalog.set_config('IntervalStyle', 'postgres', true),
        pg_catalog.set_config('TimeZone', 'UTC', true), pg_catalog.set_config('extra_float_digits', '3', true),
        pg_catalog.set_config('bytea_output', 'hex', true);
    RETURN saved;
END $$;

CREATE OR REPLACE FUNCTION splitgraph_audit.restore_output_settings(p_saved text[]) RETURNS text[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_catalog.set_config('DateStyle', p_saved[1], true), pg_catalog.set_config('IntervalStyle', p_saved[2], true),
        pg_catalog.set_config('TimeZone', p_saved[3], true), pg_catalog.set_config('extra_float_digits', p_saved[4], true),
        pg_catalog.set_config('bytea_output', p_saved[5], true);
    RETURN NULL;
END $$;

-- Bulk insert thresholds (log_inserts): rows of a statement logged one by one, keys per bulk entry, rows aggregated
-- in one pass. The API sets them at every initialize from its settings (Limits:BulkInsert*, README) through
-- configure_bulk_logging, which rewrites one IMMUTABLE function per threshold: the planner folds a call into a constant,
-- so a threshold costs nothing per row, and rewriting them and log_inserts in one transaction drops every session's
-- cached plans. Only ints reach the function text (format %s of an int). Until the API runs it, the defaults hold.
CREATE OR REPLACE FUNCTION splitgraph_audit.configure_bulk_logging(p_per_row int, p_entry_keys int, p_aggregate_rows int)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    threshold record;
    current_value int;
BEGIN
    IF p_per_row IS NULL OR p_per_row < 1 THEN
        RAISE EXCEPTION 'bulk logging: rows logged one by one must be at least 1 (it is %)', p_per_row USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Net-change positions number the keys of one entry in 16 bits (LogPosition, in the API).
    IF p_entry_keys IS NULL OR p_entry_keys < 1 OR p_entry_keys > 65535 THEN
        RAISE EXCEPTION 'bulk logging: keys per entry must be 1 to 65535 (it is %)', p_entry_keys USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_aggregate_rows IS NULL OR p_aggregate_rows < p_entry_keys THEN
        RAISE EXCEPTION 'bulk logging: rows aggregated in one pass must be at least the keys per entry (it is %)', p_aggregate_rows USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR threshold IN SELECT * FROM (VALUES ('bulk_per_row', p_per_row), ('bulk_entry_keys', p_entry_keys), ('bulk_aggregate_rows', p_aggregate_rows)) AS t(name, value) LOOP
        current_value := NULL;
        IF pg_catalog.to_regprocedure(pg_catalog.format('splitgraph_audit.%I()', threshold.name)) IS NOT NULL THEN
            EXECUTE pg_catalog.format('SELECT splitgraph_audit.%I()', threshold.name) INTO current_value;
        END IF;
        -- Unchanged thresholds are left alone: rewriting a function invalidates every session's cached plans.
        IF current_value IS DISTINCT FROM threshold.value THEN
            EXECUTE pg_catalog.format(
                'CREATE OR REPLACE FUNCTION splitgraph_audit.%I() RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE '
                'SET search_path = pg_catalog, pg_temp AS %L',
                threshold.name, pg_catalog.format('SELECT %s', threshold.value::int));
        END IF;
    END LOOP;
END $$;
DO $$
BEGIN
    IF pg_catalog.to_regprocedure('splitgraph_audit.bulk_aggregate_rows()') IS NULL THEN
        PERFORM splitgraph_audit.configure_bulk_logging(1000, 10000, 1000000);
    END IF;
END $$;

-- For log_inserts / log_deletes on a member of a partitioned family (trigger argument 'part', the root's OID last): the
-- root's current name when the query at this trigger depth only inserts ('I') or only deletes ('D') as p_kind says and
-- the table is still in the family, so its transition table is to be logged here under the root; NULL otherwise (the row
-- trigger, log_family_row, logs the query row by row). Called once per statement. (TG_ARGV arrays start at 0.)
CREATE OR REPLACE FUNCTION splitgraph_audit.family_statement_name(p_relid oid, p_args text[], p_kind text) RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.parse_ident(p_args[pg_catalog.array_upper(p_args, 1)]::oid::pg_catalog.regclass::text)
    WHERE pg_catalog.current_setting('splitgraph.family_' OPERATOR(pg_catalog.||) pg_catalog.pg_trigger_depth()
              OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) p_args[pg_catalog.array_upper(p_args, 1)], true) OPERATOR(pg_catalog.=) p_kind
      AND pg_catalog.pg_partition_root(p_relid) OPERATOR(pg_catalog.=) p_args[pg_catalog.array_upper(p_args, 1)]::oid;
$$;

-- Inserts and deletes are logged per statement from transition tables: one trigger call per statement,
-- static SQL (PL/pgSQL caches a plan per table). Whole rows are written r.* : a bare r would mean a user
-- column called "r" when the table has one.
-- Bulk inserts: past the first 1,000 rows of a statement into a table with a primary key, rows are logged as bulk
-- entries of up to 10,000 keys each (defaults: see configure_bulk_logging), the key columns as JSON arrays (row_data
-- {"id": [1, 2, …]}, changed_fields {"sg_bulk": n}). Writing a jsonb object per row is most of a tracked bulk load's cost (1M rows: 8.5 s logged per
-- row, 2.9 s as key arrays, 1.9 s untracked); the inserted values are the live row or, once changed again, the old
-- row of the key's next log entry, so readers recover them. The LIMIT keeps small statements on the static path.
CREATE OR REPLACE FUNCTION splitgraph_audit.log_inserts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    saved text[];
    log_schema text := TG_TABLE_SCHEMA;
    log_table text := TG_TABLE_NAME;
    family boolean := false;
    family_name text[];
    n bigint;
    rest bigint;
    beyond bigint;
    stmt text := pg_catalog.current_setting('splitgraph.statement_' || pg_catalog.pg_trigger_depth(), true);
    stmt_id bigint;
    key_columns text[];
    key_select text;
    key_arrays text;
    key_slices text;
    key_groups text;
    rows_mode boolean := coalesce('rows' = ANY (TG_ARGV), false);
    json_mode boolean := coalesce('json' = ANY (TG_ARGV), false);
    -- Row texts: without a key ('rows') and with a key and a column jsonb does not write exactly ('texts').
    texts_mode boolean := coalesce('rows' = ANY (TG_ARGV) OR 'texts' = ANY (TG_ARGV), false);
BEGIN
    IF 'part' = ANY (TG_ARGV) THEN
        -- A member of a partitioned family: queries that only insert are logged here in one pass, under the root's
        -- name; others row by row by log_family_row (see there).
        family_name := splitgraph_audit.family_statement_name(TG_RELID, TG_ARGV, 'I');
        IF family_name IS NULL THEN
            RETURN NULL;
        END IF;
        log_schema := family_name[1];
        log_table := family_name[2];
        family := true;
    END IF;
    IF splitgraph_audit.output_settings_differ() THEN
        saved := splitgraph_audit.fix_output_settings();
    END IF;
    IF stmt = '-' THEN
        stmt := pg_catalog.set_config('splitgraph.statement_' || pg_catalog.pg_trigger_depth(),
            pg_catalog.nextval('splitgraph_audit.logged_actions_event_id_seq'::pg_catalog.regclass)::text, true);
    END IF;
    stmt_id := nullif(stmt, '')::bigint;
    IF rows_mode THEN
        -- No primary key ('rows'): every row with its exact text, no bulk entries (they hold keys).
        INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, row_text, statement_id)
        SELECT log_schema, log_table, 'I', CASE WHEN json_mode THEN splitgraph_audit.row_jsonb(r.*) ELSE pg_catalog.to_jsonb(r.*) END, ROW(r.*)::text, stmt_id FROM sg_new_rows r;
        GET DIAGNOSTICS n = ROW_COUNT;
    ELSE
    -- ('texts': the bulk entries past these keep only keys; readers then compare the live row's text.)
    INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, row_text, statement_id)
    SELECT log_schema, log_table, 'I', CASE WHEN json_mode THEN splitgraph_audit.row_jsonb(r.*) ELSE pg_catalog.to_jsonb(r.*) END,
           CASE WHEN texts_mode THEN ROW(r.*)::text END, stmt_id FROM sg_new_rows r LIMIT splitgraph_audit.bulk_per_row();
    GET DIAGNOSTICS n = ROW_COUNT;
    END IF;
    IF n = splitgraph_audit.bulk_per_row() AND NOT rows_mode THEN
        key_columns := splitgraph_audit.primary_key_of(CASE WHEN family THEN TG_ARGV[TG_NARGS - 1]::oid ELSE TG_RELID END);
        IF key_columns IS NULL THEN
            INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, statement_id)
            SELECT log_schema, log_table, 'I', CASE WHEN json_mode THEN splitgraph_audit.row_jsonb(r.*) ELSE pg_catalog.to_jsonb(r.*) END, stmt_id FROM sg_new_rows r OFFSET splitgraph_audit.bulk_per_row();
            GET DIAGNOSTICS rest = ROW_COUNT;
        ELSE
            -- Key columns as k1, k2, … (no clash with user column names), aggregated into arrays a1, a2, …
            SELECT pg_catalog.string_agg(pg_catalog.format('r.%I AS k%s', c, o), ', ' ORDER BY o),
                   pg_catalog.string_agg(pg_catalog.format('pg_catalog.array_agg(k%s) AS a%s', o, o), ', ' ORDER BY o),
                   pg_catalog.string_agg(pg_catalog.format('%L, pg_catalog.to_jsonb(a%s[i * splitgraph_audit.bulk_entry_keys() + 1 : (i + 1) * splitgraph_audit.bulk_entry_keys()])', c, o), ', ' ORDER BY o),
                   pg_catalog.string_agg(pg_catalog.format('%L, pg_catalog.to_jsonb(pg_catalog.array_agg(k%s))', c, o), ', ' ORDER BY o)
            INTO key_select, key_arrays, key_slices, key_groups
            FROM pg_catalog.unnest(key_columns) WITH ORDINALITY AS x(c, o);
            -- The next bulk_aggregate_rows() rows (a million by default): one array per key column, sliced into
            -- entries (a transition table scans in insertion order, so OFFSET picks up exactly where the LIMIT
            -- stopped). One plain aggregate costs half of grouping by a row number, and that many keys bound the
            -- memory it takes.
            EXECUTE pg_catalog.format(
                'WITH logged AS ('
                '  INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, changed_fields, statement_id)'
                '  SELECT $1, $2, ''I'', pg_catalog.jsonb_build_object(%s), pg_catalog.jsonb_build_object(''sg_bulk'', least(splitgraph_audit.bulk_entry_keys(), s.n - i * splitgraph_audit.bulk_entry_keys())), $3'
                '  FROM (SELECT %s, pg_catalog.count(*) AS n FROM (SELECT %s FROM sg_new_rows r OFFSET splitgraph_audit.bulk_per_row() LIMIT splitgraph_audit.bulk_aggregate_rows()) r) s,'
                '       pg_catalog.generate_series(0, (s.n + splitgraph_audit.bulk_entry_keys() - 1) / splitgraph_audit.bulk_entry_keys() - 1) AS i'
                '  ORDER BY i'
                '  RETURNING (changed_fields ->> ''sg_bulk'')::bigint AS n)'
                'SELECT coalesce(pg_catalog.sum(n), 0) FROM logged',
                key_slices, key_arrays, key_select)
            INTO rest USING log_schema, log_table, stmt_id;
            IF rest = splitgraph_audit.bulk_aggregate_rows() THEN
                -- Larger statements: the rest in groups of bulk_entry_keys() by row number, in one pass.
                EXECUTE pg_catalog.format(
                    'WITH logged AS ('
                    '  INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, changed_fields, statement_id)'
                    '  SELECT $1, $2, ''I'', pg_catalog.jsonb_build_object(%s), pg_catalog.jsonb_build_object(''sg_bulk'', pg_catalog.count(*)), $3'
                    '  FROM (SELECT %s, (pg_catalog.row_number() OVER () - 1) / splitgraph_audit.bulk_entry_keys() AS sg_part'
                    '  FROM (SELECT * FROM sg_new_rows OFFSET splitgraph_audit.bulk_per_row() + splitgraph_audit.bulk_aggregate_rows()) r) k'
                    '  GROUP BY sg_part ORDER BY sg_part'
                    '  RETURNING (changed_fields ->> ''sg_bulk'')::bigint AS n)'
                    'SELECT coalesce(pg_catalog.sum(n), 0) FROM logged',
                    key_groups, key_select)
                INTO beyond USING log_schema, log_table, stmt_id;
                rest := rest + beyond;
            END IF;
        END IF;
        n := n + rest;
    END IF;
    IF n > 0 THEN
        INSERT INTO splitgraph_audit.pending_counts AS c (schema_name, table_name, slot, inserted)
        VALUES (log_schema, log_table, pg_catalog.pg_backend_pid(), n)
        ON CONFLICT (schema_name, table_name, slot) DO UPDATE SET inserted = c.inserted + excluded.inserted;
    END IF;
    IF saved IS NOT NULL THEN
        saved := splitgraph_audit.restore_output_settings(saved);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION splitgraph_audit.log_deletes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    saved text[];
    log_schema text := TG_TABLE_SCHEMA;
    log_table text := TG_TABLE_NAME;
    family boolean := false;
    family_name text[];
    n bigint;
    stmt text := pg_catalog.current_setting('splitgraph.statement_' || pg_catalog.pg_trigger_depth(), true);
    texts_mode boolean := coalesce('rows' = ANY (TG_ARGV) OR 'texts' = ANY (TG_ARGV), false);
    json_mode boolean := coalesce('json' = ANY (TG_ARGV), false);
BEGIN
    IF 'part' = ANY (TG_ARGV) THEN
        -- A member of a partitioned family: queries that only delete are logged here in one pass, under the root's
        -- name; others row by row by log_family_row (see there).
        family_name := splitgraph_audit.family_statement_name(TG_RELID, TG_ARGV, 'D');
        IF family_name IS NULL THEN
            RETURN NULL;
        END IF;
        log_schema := family_name[1];
        log_table := family_name[2];
        family := true;
    END IF;
    IF splitgraph_audit.output_settings_differ() THEN
        saved := splitgraph_audit.fix_output_settings();
    END IF;
    IF stmt = '-' THEN
        stmt := pg_catalog.set_config('splitgraph.statement_' || pg_catalog.pg_trigger_depth(),
            pg_catalog.nextval('splitgraph_audit.logged_actions_event_id_seq'::pg_catalog.regclass)::text, true);
    END IF;
    INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, row_text, statement_id)
    SELECT log_schema, log_table, 'D', CASE WHEN json_mode THEN splitgraph_audit.row_jsonb(r.*) ELSE pg_catalog.to_jsonb(r.*) END, CASE WHEN texts_mode THEN ROW(r.*)::text END,
           nullif(stmt, '')::bigint FROM sg_old_rows r;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        INSERT INTO splitgraph_audit.pending_counts AS c (schema_name, table_name, slot, deleted)
        VALUES (log_schema, log_table, pg_catalog.pg_backend_pid(), n)
        ON CONFLICT (schema_name, table_name, slot) DO UPDATE SET deleted = c.deleted + excluded.deleted;
    END IF;
    IF saved IS NOT NULL THEN
        saved := splitgraph_audit.restore_output_settings(saved);
    END IF;
    RETURN NULL;
END $$;

-- Updates are logged per row: transition tables of an UPDATE do not pair old and new rows.
-- A no-op update is not logged; no-op means the row images are identical (*=), not that their jsonb is equal:
-- numeric 1.0 -> 1.00, float8 0 -> -0, a json value's text, json 'null' <-> NULL are changes. An update whose old and
-- new jsonb are equal all the same is logged with equal row_data and changed_fields, which readers take as "the row
-- changed in a way jsonb cannot show" (commit then takes the live row). Comparing images first also skips the two
-- to_jsonb calls for no-op updates. changed_fields holds the whole new row: diffing it against the old one here
-- (jsonb_each + jsonb_object_agg per row) cost ~8% of single-row update throughput; readers compare.
CREATE OR REPLACE FUNCTION splitgraph_audit.log_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    saved text[];
    stmt text;
BEGIN
    IF OLD *= NEW THEN
        RETURN NULL;
    END IF;
    IF splitgraph_audit.output_settings_differ() THEN
        saved := splitgraph_audit.fix_output_settings();
    END IF;
    stmt := pg_catalog.current_setting('splitgraph.statement_' || pg_catalog.pg_trigger_depth(), true);
    IF stmt = '-' THEN
        stmt := pg_catalog.set_config('splitgraph.statement_' || pg_catalog.pg_trigger_depth(),
            pg_catalog.nextval('splitgraph_audit.logged_actions_event_id_seq'::pg_catalog.regclass)::text, true);
    END IF;
    IF TG_NARGS = 0 THEN
        -- The common case: a key, jsonb-exact columns.
        INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, changed_fields, statement_id)
        VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'U', pg_catalog.to_jsonb(OLD), pg_catalog.to_jsonb(NEW), nullif(stmt, '')::bigint);
    ELSIF TG_NARGS = 1 AND TG_ARGV[0] IN ('rows', 'texts') THEN
        -- Row texts without json columns, as a VALUES row: an UPDATE of 50k rows of a float8 table took 20% longer
        -- than without texts this way, 28% through the general statement below (medians of 12 paired runs).
        INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, changed_fields, row_text, new_text, statement_id)
        VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'U', pg_catalog.to_jsonb(OLD), pg_catalog.to_jsonb(NEW), OLD::text, NEW::text, nullif(stmt, '')::bigint);
    ELSE
        -- 'rows' or 'texts' with 'json' (see trigger_args).
        INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, changed_fields, row_text, new_text, statement_id)
        SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, 'U',
               CASE WHEN j THEN splitgraph_audit.row_jsonb(OLD) ELSE pg_catalog.to_jsonb(OLD) END,
               CASE WHEN j THEN splitgraph_audit.row_jsonb(NEW) ELSE pg_catalog.to_jsonb(NEW) END,
               CASE WHEN r THEN OLD::text END, CASE WHEN r THEN NEW::text END, nullif(stmt, '')::bigint
        FROM (SELECT coalesce('rows' = ANY (TG_ARGV) OR 'texts' = ANY (TG_ARGV), false) AS r, coalesce('json' = ANY (TG_ARGV), false) AS j) m;
    END IF;
    IF saved IS NOT NULL THEN
        saved := splitgraph_audit.restore_output_settings(saved);
    END IF;
    RETURN NULL;
END $$;

-- The TRUNCATE triggers' common step (log_truncate, log_family_truncate): every row of a table, before TRUNCATE takes
-- it, becomes a pending delete under the given log name and statement ID (under the caller's fixed output settings);
-- returns how many. p_only reads the table without its inheritance children (a partition's rows alone).
CREATE OR REPLACE FUNCTION splitgraph_audit.log_rows_deleted(p_relid oid, p_only boolean, p_schema text, p_table text, p_statement bigint, p_args text[])
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE pg_catalog.format(
        'INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, row_text, statement_id) '
        'SELECT $1, $2, ''D'', CASE WHEN $5 THEN splitgraph_audit.row_jsonb(r.*) ELSE pg_catalog.to_jsonb(r.*) END, CASE WHEN $4 THEN ROW(r.*)::text END, $3 FROM %s%I.%I r',
        CASE WHEN p_only THEN 'ONLY ' ELSE '' END,
        (SELECT ns.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace WHERE c.oid = p_relid),
        (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = p_relid))
    USING p_schema, p_table, p_statement,
          coalesce('rows' = ANY (p_args) OR 'texts' = ANY (p_args), false), coalesce('json' = ANY (p_args), false);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- TRUNCATE is not lost: every row present before it becomes a pending delete. It is a statement of its own.
CREATE OR REPLACE FUNCTION splitgraph_audit.log_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    saved text[];
    n bigint;
BEGIN
    IF splitgraph_audit.output_settings_differ() THEN
        saved := splitgraph_audit.fix_output_settings();
    END IF;
    n := splitgraph_audit.log_rows_deleted(TG_RELID, false, TG_TABLE_SCHEMA, TG_TABLE_NAME,
        pg_catalog.nextval('splitgraph_audit.logged_actions_event_id_seq'::pg_catalog.regclass), TG_ARGV);
    IF n > 0 THEN
        PERFORM splitgraph_audit.add_counts(TG_TABLE_SCHEMA, TG_TABLE_NAME, 0, n);
    END IF;
    IF saved IS NOT NULL THEN
        saved := splitgraph_audit.restore_output_settings(saved);
    END IF;
    RETURN NULL;
END $$;

-- Partitioned tables (trigger argument 'part', the root's OID last). PostgreSQL clones a row trigger of a partitioned
-- table to every partition, present and future, but fires statement triggers only on the table a statement names, and
-- an UPDATE that moves a row to another partition fires the DELETE row trigger of the old partition and the INSERT row
-- trigger of the new one, no UPDATE row trigger. So a partitioned table is logged under its root's name by
--   * one row trigger on the root (log_family_row), cloned to every partition: updates, and the inserts and deletes of
--     any query that also updates (moved rows are a delete and an insert of the same statement), MERGE included;
--   * statement triggers on the root and on every partition: the statement's mark (begin_family_statement), queries
--     that only insert or only delete, from their transition tables in one pass (log_inserts / log_deletes, bulk entries
--     as for a plain table: PostgreSQL hands the root's trigger every row routed to any partition), the end of the
--     statement (end_family_statement), TRUNCATE (log_family_truncate).
-- DML and TRUNCATE issued on a partition are logged like DML through the root. Partitions added later get their
-- statement triggers from cover_partitions (at every engine call, see reconcile); until then DML issued on such a
-- partition itself is refused (SGP01) and DML through the root is logged.
--
-- The log's name for a family is its root's current name, read from the catalogue by the root's OID in the trigger's
-- arguments (as TG_TABLE_NAME for a plain table; reconcile moves a renamed table's entries). Settings are no trust boundary (a writer can set them): they
-- only mark statements, per trigger depth and family ('splitgraph.family_<depth>_<root OID>' holds the kinds of the
-- query's actions, 'I', 'U', 'D' in firing order), and count a statement's inserts and deletes logged row by row, so a
-- forged setting can at most misgroup or miscount its writer's own changes of that table.

-- BEFORE each INSERT/UPDATE/DELETE statement on the root or a partition: begin_statement's mark, and the action's kind
-- added to the family's mark (a MERGE fires one of these per action, an upsert an INSERT and an UPDATE).
CREATE OR REPLACE FUNCTION splitgraph_audit.begin_family_statement() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    mark text := 'splitgraph.family_' || pg_catalog.pg_trigger_depth() || '_' || TG_ARGV[TG_NARGS - 1];
    ops text := coalesce(pg_catalog.current_setting(mark, true), '');
    ignored text;
BEGIN
    -- A table detached from the family keeps these triggers until the next engine call removes them: no mark.
    IF pg_catalog.pg_partition_root(TG_RELID) IS DISTINCT FROM TG_ARGV[TG_NARGS - 1]::oid THEN
        RETURN NULL;
    END IF;
    IF ops = '' THEN
        -- The query's first action: its statement ID is not drawn yet, nothing is counted yet.
        ignored := pg_catalog.set_config('splitgraph.statement_' || pg_catalog.pg_trigger_depth(), '-', true);
        ignored := pg_catalog.set_config(mark || '_ins', '0', true);
        ignored := pg_catalog.set_config(mark || '_del', '0', true);
        ignored := pg_catalog.set_config(mark || '_open', '0', true);
    END IF;
    ignored := pg_catalog.set_config(mark, ops || pg_catalog.left(TG_OP, 1), true);
    -- Statements opened and not ended at this depth: a statement run by a function inside a query's own statement
    -- (at the same depth) ends first, and must not close the query's mark.
    ignored := pg_catalog.set_config(mark || '_open',
        (coalesce(nullif(pg_catalog.current_setting(mark || '_open', true), '')::int, 0) OPERATOR(pg_catalog.+) 1)::text, true);
    RETURN NULL;
END $$;

-- AFTER each INSERT/UPDATE/DELETE statement on the root or a partition (named to fire after log_inserts and
-- log_deletes, which need the mark): adds the inserts and deletes the row trigger logged to the pending counts, once per
-- statement (a counter row updated per row would grow a version chain), and clears the mark. Its query's row events
-- have all fired by then; the row trigger logs rows of a covered partition that come later, or without a mark (a
-- cascade of a foreign key, a writable CTE whose other part ended first), each as a statement of its own.
CREATE OR REPLACE FUNCTION splitgraph_audit.end_family_statement() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    mark text := 'splitgraph.family_' || pg_catalog.pg_trigger_depth() || '_' || TG_ARGV[TG_NARGS - 1];
    open int;
    inserted bigint;
    deleted bigint;
    name text[];
    ignored text;
BEGIN
    IF coalesce(pg_catalog.current_setting(mark, true), '') = '' THEN
        RETURN NULL;
    END IF;
    open := coalesce(nullif(pg_catalog.current_setting(mark || '_open', true), '')::int, 1) OPERATOR(pg_catalog.-) 1;
    ignored := pg_catalog.set_config(mark || '_open', open::text, true);
    IF open > 0 THEN
        RETURN NULL;
    END IF;
    inserted := coalesce(nullif(pg_catalog.current_setting(mark || '_ins', true), '')::bigint, 0);
    deleted := coalesce(nullif(pg_catalog.current_setting(mark || '_del', true), '')::bigint, 0);
    ignored := pg_catalog.set_config(mark, '', true);
    IF inserted <> 0 OR deleted <> 0 THEN
        name := pg_catalog.parse_ident(TG_ARGV[TG_NARGS - 1]::oid::pg_catalog.regclass::text);
        PERFORM splitgraph_audit.add_counts(name[1], name[2], inserted, deleted);
    END IF;
    RETURN NULL;
END $$;

-- AFTER each inserted, updated or deleted row of a partition (the root's row trigger, cloned): one log entry under the
-- root's name. Row texts ('rows', 'texts') are the partition's row in its column order, which tracking and
-- partition_changes require to be the root's (misaligned_members).
CREATE OR REPLACE FUNCTION splitgraph_audit.log_family_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    saved text[];
    depth text := pg_catalog.pg_trigger_depth()::text;
    mark text := 'splitgraph.family_' || depth || '_' || TG_ARGV[TG_NARGS - 1];
    ops text;
    stmt text;
    alone boolean := false;
    root_name text[];
    texts_mode boolean;
    json_mode boolean;
    ignored text;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD *= NEW THEN
        RETURN NULL;
    END IF;
    ops := coalesce(pg_catalog.current_setting(mark, true), '');
    IF TG_OP <> 'UPDATE' AND ops = pg_catalog.left(TG_OP, 1) THEN
        -- A query that only inserts or only deletes: the statement trigger logs it from its transition table.
        RETURN NULL;
    END IF;
    IF ops = '' THEN
        -- No statement of this family open at this depth. A partition without the statement triggers is not covered
        -- yet: its statement could not be grouped, nor its TRUNCATE seen, so it is refused. Otherwise (a foreign key's
        -- cascade, a writable CTE or a function whose own statement ended first) the row is a statement of its own.
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = TG_RELID AND t.tgname = 'audit_trigger_stmt_end') THEN
            RAISE EXCEPTION USING ERRCODE = 'SGP01',
                MESSAGE = pg_catalog.format('%s is a partition of the tracked table %s that change tracking does not cover yet (it was created or attached since the engine last ran)',
                    TG_RELID::pg_catalog.regclass, TG_ARGV[TG_NARGS - 1]::oid::pg_catalog.regclass),
                HINT = pg_catalog.format('Write through %s, or let the engine cover the partition first: any call to the engine''s API does.',
                    TG_ARGV[TG_NARGS - 1]::oid::pg_catalog.regclass);
        END IF;
        alone := true;
    END IF;
    -- The root's current name from the catalogue caches (regclass output, always schema-qualified under this search_path),
    -- as TG_TABLE_NAME is for a plain table: reconcile moves a renamed table's entries from its old name.
    root_name := pg_catalog.parse_ident(TG_ARGV[TG_NARGS - 1]::oid::pg_catalog.regclass::text);
    IF splitgraph_audit.output_settings_differ() THEN
        saved := splitgraph_audit.fix_output_settings();
    END IF;
    IF alone THEN
        stmt := pg_catalog.nextval('splitgraph_audit.logged_actions_event_id_seq'::pg_catalog.regclass)::text;
    ELSE
        stmt := pg_catalog.current_setting('splitgraph.statement_' || depth, true);
        IF stmt = '-' THEN
            stmt := pg_catalog.set_config('splitgraph.statement_' || pg_catalog.pg_trigger_depth(),
                pg_catalog.nextval('splitgraph_audit.logged_actions_event_id_seq'::pg_catalog.regclass)::text, true);
        END IF;
    END IF;
    texts_mode := 'rows' = ANY (TG_ARGV) OR 'texts' = ANY (TG_ARGV);
    json_mode := 'json' = ANY (TG_ARGV);
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, changed_fields, row_text, new_text, statement_id)
        VALUES (root_name[1], root_name[2], 'U',
                CASE WHEN json_mode THEN splitgraph_audit.row_jsonb(OLD) ELSE pg_catalog.to_jsonb(OLD) END,
                CASE WHEN json_mode THEN splitgraph_audit.row_jsonb(NEW) ELSE pg_catalog.to_jsonb(NEW) END,
                CASE WHEN texts_mode THEN OLD::text END, CASE WHEN texts_mode THEN NEW::text END, nullif(stmt, '')::bigint);
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, row_text, statement_id)
        VALUES (root_name[1], root_name[2], 'I', CASE WHEN json_mode THEN splitgraph_audit.row_jsonb(NEW) ELSE pg_catalog.to_jsonb(NEW) END,
                CASE WHEN texts_mode THEN NEW::text END, nullif(stmt, '')::bigint);
    ELSE
        INSERT INTO splitgraph_audit.logged_actions (schema_name, table_name, action, row_data, row_text, statement_id)
        VALUES (root_name[1], root_name[2], 'D', CASE WHEN json_mode THEN splitgraph_audit.row_jsonb(OLD) ELSE pg_catalog.to_jsonb(OLD) END,
                CASE WHEN texts_mode THEN OLD::text END, nullif(stmt, '')::bigint);
    END IF;
    IF TG_OP <> 'UPDATE' THEN
        IF alone THEN
            PERFORM splitgraph_audit.add_counts(root_name[1], root_name[2],
                CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE 0 END, CASE WHEN TG_OP = 'DELETE' THEN 1 ELSE 0 END);
        ELSE
            mark := mark || CASE WHEN TG_OP = 'INSERT' THEN '_ins' ELSE '_del' END;
            ignored := pg_catalog.set_config(mark,
                (coalesce(nullif(pg_catalog.current_setting(mark, true), '')::bigint, 0) OPERATOR(pg_catalog.+) 1)::text, true);
        END IF;
    END IF;
    IF saved IS NOT NULL THEN
        saved := splitgraph_audit.restore_output_settings(saved);
    END IF;
    RETURN NULL;
END $$;

-- BEFORE TRUNCATE of the root or a partition: the rows of the truncated table itself (a partitioned table has none),
-- and those of the partitions below it that no covered table between them truncates itself (partitions not covered
-- yet), become pending deletes under the root's name. A TRUNCATE of the root fires this on the root and on every
-- covered partition, so each row is logged once.
CREATE OR REPLACE FUNCTION splitgraph_audit.log_family_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    saved text[];
    root oid := TG_ARGV[TG_NARGS - 1]::oid;
    root_name text[];
    leaf record;
    stmt bigint;
    total bigint := 0;
BEGIN
    IF pg_catalog.pg_partition_root(TG_RELID) IS DISTINCT FROM root THEN
        RETURN NULL;
    END IF;
    root_name := pg_catalog.parse_ident(root::pg_catalog.regclass::text);
    IF splitgraph_audit.output_settings_differ() THEN
        saved := splitgraph_audit.fix_output_settings();
    END IF;
    stmt := pg_catalog.nextval('splitgraph_audit.logged_actions_event_id_seq'::pg_catalog.regclass);
    FOR leaf IN
        SELECT m.relid FROM pg_catalog.pg_partition_tree(TG_RELID) m
        WHERE m.isleaf AND NOT EXISTS (
            -- A covered table at or below this one (other than this one) that has the leaf in its tree logs it.
            SELECT 1 FROM pg_catalog.pg_partition_ancestors(m.relid) a
            JOIN pg_catalog.pg_trigger t ON t.tgrelid = a AND t.tgname = 'audit_trigger_truncate'
            WHERE a OPERATOR(pg_catalog.<>) TG_RELID AND a = ANY (ARRAY(SELECT x.relid FROM pg_catalog.pg_partition_tree(TG_RELID) x)))
    LOOP
        total := total + splitgraph_audit.log_rows_deleted(leaf.relid, true, root_name[1], root_name[2], stmt, TG_ARGV);
    END LOOP;
    IF total > 0 THEN
        PERFORM splitgraph_audit.add_counts(root_name[1], root_name[2], 0, total);
    END IF;
    IF saved IS NOT NULL THEN
        saved := splitgraph_audit.restore_output_settings(saved);
    END IF;
    RETURN NULL;
END $$;

-- The statement-level triggers of one member of a tracked partitioned family (the root or a partition), with the
-- family's arguments (trigger_args of the root: words and the root's OID, quoted as literals).
CREATE OR REPLACE FUNCTION splitgraph_audit.install_family_statement_triggers(p_relid oid, p_args text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    target text := (SELECT pg_catalog.format('%I.%I', ns.nspname, c.relname) FROM pg_catalog.pg_class c
                    JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace WHERE c.oid = p_relid);
BEGIN
    EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER audit_trigger_statement BEFORE INSERT OR UPDATE OR DELETE ON %s '
        'FOR EACH STATEMENT EXECUTE FUNCTION splitgraph_audit.begin_family_statement(%s)', target, p_args);
    EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER audit_trigger_stm AFTER INSERT ON %s '
        'REFERENCING NEW TABLE AS sg_new_rows FOR EACH STATEMENT EXECUTE FUNCTION splitgraph_audit.log_inserts(%s)', target, p_args);
    EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER audit_trigger_stm_delete AFTER DELETE ON %s '
        'REFERENCING OLD TABLE AS sg_old_rows FOR EACH STATEMENT EXECUTE FUNCTION splitgraph_audit.log_deletes(%s)', target, p_args);
    -- Named to fire after those two (triggers of one event fire in name order): it clears the statement's mark.
    EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER audit_trigger_stmt_end AFTER INSERT OR UPDATE OR DELETE ON %s '
        'FOR EACH STATEMENT EXECUTE FUNCTION splitgraph_audit.end_family_statement(%s)', target, p_args);
    EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER audit_trigger_truncate BEFORE TRUNCATE ON %s '
        'FOR EACH STATEMENT EXECUTE FUNCTION splitgraph_audit.log_family_truncate(%s)', target, p_args);
END $$;

-- The logging triggers of one tracked table, created or replaced with the arguments trigger_args gives it (the only
-- words spliced, as literals). A plain table: the statement's ID before each statement, inserts and deletes per
-- statement (transition tables), updates per row, TRUNCATE before it happens. A partitioned table: see above.
CREATE OR REPLACE FUNCTION splitgraph_audit.install_triggers(p_relid oid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    args text[] := splitgraph_audit.trigger_args(p_relid);
    arg_list text := (SELECT coalesce(pg_catalog.string_agg(pg_catalog.quote_literal(x), ', '), '') FROM pg_catalog.unnest(args) AS x);
    target text := (SELECT pg_catalog.format('%I.%I', ns.nspname, c.relname) FROM pg_catalog.pg_class c
                    JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace WHERE c.oid = p_relid);
    member oid;
BEGIN
    IF 'part' = ANY (args) THEN
        EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER audit_trigger_row AFTER INSERT OR UPDATE OR DELETE ON %s '
            'FOR EACH ROW EXECUTE FUNCTION splitgraph_audit.log_family_row(%s)', target, arg_list);
        -- Foreign tables cannot have these triggers; a partition the engine may not change stays uncovered. Both are
        -- reported by partition_changes (track refuses foreign partitions before this).
        FOR member IN SELECT m.relid FROM pg_catalog.pg_partition_tree(p_relid) m
                      JOIN pg_catalog.pg_class c ON c.oid = m.relid WHERE c.relkind <> 'f' LOOP
            BEGIN
                PERFORM splitgraph_audit.install_family_statement_triggers(member, arg_list);
            EXCEPTION WHEN insufficient_privilege OR wrong_object_type OR feature_not_supported THEN
                RAISE NOTICE 'partition % of tracked table % is not covered: %', member::pg_catalog.regclass, p_relid::pg_catalog.regclass, SQLERRM;
            END;
        END LOOP;
        RETURN;
    END IF;
    EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER audit_trigger_statement BEFORE INSERT OR UPDATE OR DELETE ON %s '
        'FOR EACH STATEMENT EXECUTE FUNCTION splitgraph_audit.begin_statement()', target);
    EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER audit_trigger_stm AFTER INSERT ON %s '
        'REFERENCING NEW TABLE AS sg_new_rows FOR EACH STATEMENT EXECUTE FUNCTION splitgraph_audit.log_inserts(%s)', target, arg_list);
    EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER audit_trigger_stm_delete AFTER DELETE ON %s '
        'REFERENCING OLD TABLE AS sg_old_rows FOR EACH STATEMENT EXECUTE FUNCTION splitgraph_audit.log_deletes(%s)', target, arg_list);
    EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER audit_trigger_row AFTER UPDATE ON %s '
        'FOR EACH ROW EXECUTE FUNCTION splitgraph_audit.log_update(%s)', target, arg_list);
    EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER audit_trigger_truncate BEFORE TRUNCATE ON %s '
        'FOR EACH STATEMENT EXECUTE FUNCTION splitgraph_audit.log_truncate(%s)', target, arg_list);
END $$;

-- Drops a table's logging triggers (untrack); those of a partitioned table from every member too (the row trigger's
-- clones go with it; statement triggers are the members' own).
CREATE OR REPLACE FUNCTION splitgraph_audit.remove_triggers(p_relid oid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    member record;
    name text;
BEGIN
    FOR member IN
        SELECT pg_catalog.format('%I.%I', ns.nspname, c.relname) AS target
        FROM (SELECT p_relid AS relid UNION SELECT m.relid FROM pg_catalog.pg_partition_tree(p_relid) m) x
        JOIN pg_catalog.pg_class c ON c.oid = x.relid JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
    LOOP
        FOREACH name IN ARRAY ARRAY['audit_trigger_statement', 'audit_trigger_stmt_end', 'audit_trigger_stm', 'audit_trigger_stm_delete', 'audit_trigger_row', 'audit_trigger_truncate'] LOOP
            -- A partition's clone of the root's row trigger cannot be dropped on its own (it goes with the root's).
            IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = pg_catalog.to_regclass(member.target) AND t.tgname = name AND t.tgparentid <> 0) THEN
                EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS %I ON %s', name, member.target);
            END IF;
        END LOOP;
    END LOOP;
END $$;

-- Tables tracked by an older install get the statement trigger (ChangeEngine installs it with the others).
DO $$
DECLARE
    tracked record;
BEGIN
    FOR tracked IN
        SELECT n.nspname, c.relname FROM pg_catalog.pg_trigger t
        JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE t.tgname = 'audit_trigger_row' AND t.tgparentid = 0
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger s WHERE s.tgrelid = t.tgrelid AND s.tgname = 'audit_trigger_statement')
    LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER audit_trigger_statement BEFORE INSERT OR UPDATE OR DELETE ON %I.%I '
            'FOR EACH STATEMENT EXECUTE FUNCTION splitgraph_audit.begin_statement()', tracked.nspname, tracked.relname);
    END LOOP;
END $$;

-- Tables tracked by an older engine may carry logging triggers with older arguments (before 'json' or 'texts', or
-- before a type left the jsonb-exact whitelist): entries they log lack what readers now expect. At every initialize,
-- a table whose logging triggers' arguments differ from trigger_args gets its whole set re-installed (install_triggers,
-- CREATE OR REPLACE: the triggers keep their OIDs), in the script's transaction; tables whose triggers are right are
-- left alone, so a repeat costs one catalogue scan. Arguments are trigger_args'
-- words (quote_literal); names are quoted with %I.
CREATE OR REPLACE FUNCTION splitgraph_audit.sync_trigger_args() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    stale oid;
    synced integer := 0;
BEGIN
    FOR stale IN
        -- trigger_args once per tracked table (materialized: a pulled-up expression would run once per reference).
        WITH tracked AS MATERIALIZED (
            SELECT r.tgrelid, splitgraph_audit.encoded_trigger_args(splitgraph_audit.trigger_args(r.tgrelid)) AS tgargs
            FROM pg_catalog.pg_trigger r WHERE r.tgname = 'audit_trigger_row' AND r.tgparentid = 0)
        SELECT DISTINCT w.tgrelid FROM tracked w JOIN pg_catalog.pg_trigger t ON t.tgrelid = w.tgrelid
        WHERE t.tgname IN ('audit_trigger_stm', 'audit_trigger_stm_delete', 'audit_trigger_row', 'audit_trigger_truncate')
          AND t.tgargs IS DISTINCT FROM w.tgargs
    LOOP
        PERFORM splitgraph_audit.install_triggers(stale);
        synced := synced + 1;
    END LOOP;
    RETURN synced;
END $$;

SELECT splitgraph_audit.sync_trigger_args();

-- Tracked tables by OID. The log is keyed by table name (triggers write TG_TABLE_NAME), so the engine remembers the
-- name each tracked table had: splitgraph_audit.reconcile() then moves the pending changes of a renamed table (or one
-- moved to another schema) to its new name, and discards those of a dropped table (they can never be committed, and a
-- new table of the same name must not inherit them). It runs before every read of the log, commit, discard and track,
-- so a DDL statement never needs an event trigger (those need a superuser to create).
CREATE TABLE IF NOT EXISTS splitgraph_audit.tracked_tables (
    relid oid PRIMARY KEY,
    schema_name text NOT NULL,
    table_name text NOT NULL
);

-- Tables tracked by an older install are registered under their current names.
INSERT INTO splitgraph_audit.tracked_tables (relid, schema_name, table_name)
SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE t.tgname = 'audit_trigger_row' AND t.tgparentid = 0
ON CONFLICT (relid) DO NOTHING;
-- A partition is never tracked on its own (an earlier version of the statement above registered them).
-- (A tracked table attached as a partition since keeps its own trigger and its row: partition_changes reports it.)
DELETE FROM splitgraph_audit.tracked_tables r USING pg_catalog.pg_class c WHERE c.oid = r.relid AND c.relispartition
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = r.relid AND t.tgname = 'audit_trigger_row' AND t.tgparentid = 0);

-- Moves every log entry and count of one table name to another.
CREATE OR REPLACE FUNCTION splitgraph_audit.move_changes(p_schema text, p_table text, p_to_schema text, p_to_table text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE splitgraph_audit.logged_actions SET schema_name = p_to_schema, table_name = p_to_table
    WHERE schema_name = p_schema AND table_name = p_table;
    INSERT INTO splitgraph_audit.pending_counts AS c (schema_name, table_name, slot, inserted, deleted)
    SELECT p_to_schema, p_to_table, 0, pg_catalog.sum(inserted), pg_catalog.sum(deleted) FROM splitgraph_audit.pending_counts
    WHERE schema_name = p_schema AND table_name = p_table HAVING pg_catalog.count(*) > 0
    ON CONFLICT (schema_name, table_name, slot)
    DO UPDATE SET inserted = c.inserted + excluded.inserted, deleted = c.deleted + excluded.deleted;
    DELETE FROM splitgraph_audit.pending_counts WHERE schema_name = p_schema AND table_name = p_table;
END $$;

CREATE OR REPLACE FUNCTION splitgraph_audit.reconcile() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
BEGIN
    PERFORM splitgraph_audit.cover_partitions();
    -- Nothing renamed or dropped (the usual case): one small read, no lock.
    IF NOT EXISTS (
        SELECT 1 FROM splitgraph_audit.tracked_tables r
        LEFT JOIN pg_catalog.pg_class c ON c.oid = r.relid LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid IS NULL OR n.nspname <> r.schema_name OR c.relname <> r.table_name) THEN
        RETURN;
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('splitgraph.reconcile'));
    -- Dropped tables first (their names may have been taken since), then renames in two passes through a name of
    -- their own, so tables that swapped names never merge their changes.
    FOR t IN
        SELECT r.relid, r.schema_name, r.table_name FROM splitgraph_audit.tracked_tables r
        WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = r.relid)
    LOOP
        PERFORM splitgraph_audit.discard_changes(t.schema_name, t.table_name);
        DELETE FROM splitgraph_audit.tracked_tables WHERE relid = t.relid;
    END LOOP;
    FOR t IN
        SELECT r.relid, r.schema_name, r.table_name FROM splitgraph_audit.tracked_tables r
        JOIN pg_catalog.pg_class c ON c.oid = r.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname <> r.schema_name OR c.relname <> r.table_name
    LOOP
        PERFORM splitgraph_audit.move_changes(t.schema_name, t.table_name, '', 'sg_moving_' || t.relid::text);
    END LOOP;
    FOR t IN
        SELECT r.relid, n.nspname, c.relname FROM splitgraph_audit.tracked_tables r
        JOIN pg_catalog.pg_class c ON c.oid = r.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname <> r.schema_name OR c.relname <> r.table_name
    LOOP
        PERFORM splitgraph_audit.move_changes('', 'sg_moving_' || t.relid::text, t.nspname, t.relname);
        UPDATE splitgraph_audit.tracked_tables SET schema_name = t.nspname, table_name = t.relname WHERE relid = t.relid;
    END LOOP;
END $$;

-- ALTER COLUMN … TYPE while changes are pending: entries logged under the old types (row texts, keys) cannot be read
-- as rows of the new ones, and the object would silently have another schema. tracked_tables remembers the column
-- types that describe the pending entries (set at track time, refreshed below whenever that is known to hold).
ALTER TABLE splitgraph_audit.tracked_tables ADD COLUMN IF NOT EXISTS column_types text;

-- A table's columns and their types in attribute order.
CREATE OR REPLACE FUNCTION splitgraph_audit.column_types(p_relid oid) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
    FROM pg_catalog.pg_attribute a WHERE a.attrelid = p_relid AND a.attnum > 0 AND NOT a.attisdropped;
$$;

-- The column types as remembered and as they are now when a type changed after the table's oldest pending entry
-- was logged; both NULL otherwise. "After" is told by transaction age: ALTER COLUMN … TYPE rewrites the column's
-- pg_attribute row, so that row is no older than the entry. A type change older than every pending entry (made while
-- nothing was pending, before any API call saw it) is not one: the remembered types are refreshed instead.
-- Limits: the ALTER and the first change in one transaction count as "after"; ALTER … TYPE with the same type
-- (USING an expression) changes no type and is not seen.
CREATE OR REPLACE FUNCTION splitgraph_audit.retyped_columns(p_schema text, p_table text, OUT logged_types text, OUT current_types text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tracked record;
    now_types text;
    oldest xid;
BEGIN
    SELECT r.relid, r.column_types INTO tracked FROM splitgraph_audit.tracked_tables r
    WHERE r.schema_name = p_schema AND r.table_name = p_table;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    now_types := splitgraph_audit.column_types(tracked.relid);
    IF tracked.column_types IS NOT DISTINCT FROM now_types THEN
        RETURN;
    END IF;
    SELECT l.xmin INTO oldest FROM splitgraph_audit.logged_actions l
    WHERE l.schema_name = p_schema AND l.table_name = p_table ORDER BY l.event_id LIMIT 1;
    IF tracked.column_types IS NOT NULL AND oldest IS NOT NULL AND EXISTS (
        SELECT 1 FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = tracked.relid AND a.attnum > 0 AND pg_catalog.age(a.xmin) <= pg_catalog.age(oldest)) THEN
        logged_types := tracked.column_types;
        current_types := now_types;
        RETURN;
    END IF;
    UPDATE splitgraph_audit.tracked_tables SET column_types = now_types WHERE relid = tracked.relid;
END $$;

-- Partitions of a tracked partitioned table as the engine last accepted them, each as '<OID>:<xmin of its pg_inherits
-- row>' (so a partition detached and attached again is a new one): ATTACH, DETACH and DROP of a partition move rows in
-- or out without any row trigger firing, so a change of this set that brought or took rows means the log no longer
-- describes the table (partition_changes). Set at track time and by a snapshot commit; cover_partitions adds
-- partitions that came later and whose rows the log accounts for, and remembers those it found it does not (checked
-- once: a check reads the whole partition).
ALTER TABLE splitgraph_audit.tracked_tables ADD COLUMN IF NOT EXISTS accepted_members text[];
ALTER TABLE splitgraph_audit.tracked_tables ADD COLUMN IF NOT EXISTS rejected_members text[];

-- An engine initialised by this version's development builds: family_members returned oid[], members had no
-- pg_inherits xmin, and the end-of-statement trigger had a name that fired before log_inserts.
DO $$
DECLARE
    old record;
BEGIN
    IF (SELECT p.prorettype FROM pg_catalog.pg_proc p WHERE p.oid = pg_catalog.to_regprocedure('splitgraph_audit.family_members(oid)'))
       = 'pg_catalog.oid[]'::pg_catalog.regtype THEN
        DROP FUNCTION splitgraph_audit.family_members(oid);
    END IF;
    FOR old IN
        SELECT pg_catalog.format('%I.%I', ns.nspname, c.relname) AS target FROM pg_catalog.pg_trigger t
        JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
        WHERE t.tgname = 'audit_trigger_end' AND t.tgparentid = 0
          AND t.tgfoid = 'splitgraph_audit.end_family_statement()'::pg_catalog.regprocedure
    LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS audit_trigger_end ON %s', old.target);
    END LOOP;
    DROP FUNCTION IF EXISTS splitgraph_audit.family_name(oid);
    DROP FUNCTION IF EXISTS splitgraph_audit.has_rows_before_entry(oid, oid);
    ALTER TABLE splitgraph_audit.tracked_tables DROP COLUMN IF EXISTS members;
END $$;

-- The members of a partitioned family (the root first, no parent), read from pg_inherits: pg_partition_tree locks every
-- partition, so a writer holding one (TRUNCATE in an open transaction) would stall every engine call.
CREATE OR REPLACE FUNCTION splitgraph_audit.family_tree(p_root oid) RETURNS TABLE (relid oid, relkind "char")
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE tree AS (
        SELECT p_root AS relid
        UNION ALL
        SELECT i.inhrelid FROM tree t JOIN pg_catalog.pg_inherits i ON i.inhparent = t.relid)
    SELECT t.relid, c.relkind FROM tree t JOIN pg_catalog.pg_class c ON c.oid = t.relid;
$$;

-- The members of a partitioned family below its root as '<OID>:<pg_inherits xmin>', sorted (NULL for a plain table).
CREATE OR REPLACE FUNCTION splitgraph_audit.family_members(p_root oid) RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = p_root) = 'p' THEN
        coalesce((SELECT pg_catalog.array_agg(m.relid::text || ':' || i.xmin::text ORDER BY m.relid)
                  FROM splitgraph_audit.family_tree(p_root) m JOIN pg_catalog.pg_inherits i ON i.inhrelid = m.relid), '{}') END;
$$;

-- Partitioned tables tracked by those development builds: their partitions as they are now.
UPDATE splitgraph_audit.tracked_tables r SET accepted_members = splitgraph_audit.family_members(r.relid)
FROM pg_catalog.pg_class c WHERE c.oid = r.relid AND c.relkind = 'p' AND r.accepted_members IS NULL;

-- Whether a family logging row texts has a member whose columns differ from the root's in name, type or order
-- (dropped columns aside): texts are written in the partition's order and read in the root's.
CREATE OR REPLACE FUNCTION splitgraph_audit.misaligned_members(p_root oid) RETURNS oid[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    args text[] := splitgraph_audit.trigger_args(p_root);
BEGIN
    IF NOT ('part' = ANY (args)) OR NOT ('rows' = ANY (args) OR 'texts' = ANY (args)) THEN
        RETURN '{}';
    END IF;
    RETURN coalesce((SELECT pg_catalog.array_agg(m.relid ORDER BY m.relid) FROM splitgraph_audit.family_tree(p_root) m
        WHERE splitgraph_audit.column_types(m.relid) IS DISTINCT FROM splitgraph_audit.column_types(p_root)), '{}');
END $$;

-- Members of a tracked family the engine cannot log: foreign tables (no TRUNCATE triggers) and partitions without the
-- statement triggers (created or attached since, and not covered: the engine may not add triggers to them).
CREATE OR REPLACE FUNCTION splitgraph_audit.uncovered_members(p_root oid) RETURNS oid[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(pg_catalog.array_agg(m.relid ORDER BY m.relid), '{}') FROM splitgraph_audit.family_tree(p_root) m
    WHERE m.relkind = 'f' OR NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = m.relid AND t.tgname = 'audit_trigger_stmt_end');
$$;

-- Whether the log accounts for every row of a partition that joined a tracked family: rows an ATTACH brought were
-- written while the partition was not in the family, so no trigger logged them; a row written through the family since
-- has a pending insert or update of its key (of its exact text, without a key) by the same (sub)transaction, its xmin.
-- Under the log's fixed output settings, so live values read as logged ones.
CREATE OR REPLACE FUNCTION splitgraph_audit.rows_accounted(p_root oid, p_member oid) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC' SET extra_float_digits = 3 SET bytea_output = 'hex' AS $$
DECLARE
    member record;
    name text[] := pg_catalog.parse_ident(p_root::pg_catalog.regclass::text);
    key_columns text[] := splitgraph_audit.primary_key_of(p_root);
    live_key text;
    new_key text;
    bulk_key text;
    unaccounted boolean;
BEGIN
    SELECT ns.nspname, c.relname, c.relkind INTO member FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace WHERE c.oid = p_member;
    IF member.relkind = 'p' THEN
        RETURN true;
    END IF;
    IF key_columns IS NULL THEN
        -- Without a key: as many logged copies of each row text by each transaction as live ones.
        EXECUTE pg_catalog.format(
            'WITH live AS (SELECT r.xmin::text AS x, ROW(r.*)::text AS t, pg_catalog.count(*) AS n FROM ONLY %I.%I r GROUP BY 1, 2),'
            ' logged AS (SELECT l.xmin::text AS x, CASE WHEN l.action = ''U'' THEN l.new_text ELSE l.row_text END AS t, pg_catalog.count(*) AS n'
            '            FROM splitgraph_audit.logged_actions l WHERE l.schema_name = $1 AND l.table_name = $2 AND l.action IN (''I'', ''U'') GROUP BY 1, 2)'
            ' SELECT EXISTS (SELECT 1 FROM live LEFT JOIN logged ON logged.x = live.x AND logged.t = live.t WHERE live.n > coalesce(logged.n, 0))',
            member.nspname, member.relname)
        INTO unaccounted USING name[1], name[2];
        RETURN NOT unaccounted;
    END IF;
    SELECT pg_catalog.string_agg(pg_catalog.format('%L, r.%I', k, k), ', '),
           pg_catalog.string_agg(pg_catalog.format('%L, e.n -> %L', k, k), ', '),
           pg_catalog.string_agg(pg_catalog.format('%L, l.row_data -> %L -> (i - 1)', k, k), ', ')
    INTO live_key, new_key, bulk_key FROM pg_catalog.unnest(key_columns) AS k;
    EXECUTE pg_catalog.format(
        'WITH live AS (SELECT r.xmin::text AS x, pg_catalog.jsonb_build_object(%s) AS k FROM ONLY %I.%I r),'
        ' logged AS ('
        '   SELECT l.xmin::text AS x, pg_catalog.jsonb_build_object(%s) AS k FROM splitgraph_audit.logged_actions l'
        '   CROSS JOIN LATERAL (SELECT CASE WHEN l.action = ''U'' THEN l.changed_fields ELSE l.row_data END AS n) e'
        '   WHERE l.schema_name = $1 AND l.table_name = $2 AND (l.action = ''U'' OR (l.action = ''I'' AND NOT coalesce(l.changed_fields ? ''sg_bulk'', false)))'
        '   UNION ALL'
        '   SELECT l.xmin::text, pg_catalog.jsonb_build_object(%s) FROM splitgraph_audit.logged_actions l'
        '   CROSS JOIN LATERAL pg_catalog.generate_series(1, (l.changed_fields ->> ''sg_bulk'')::int) i'
        '   WHERE l.schema_name = $1 AND l.table_name = $2 AND l.action = ''I'' AND l.changed_fields ? ''sg_bulk'')'
        ' SELECT EXISTS (SELECT 1 FROM live WHERE NOT EXISTS (SELECT 1 FROM logged WHERE logged.x = live.x AND logged.k = live.k))',
        live_key, member.nspname, member.relname, new_key, bulk_key)
    INTO unaccounted USING name[1], name[2];
    RETURN NOT unaccounted;
END $$;

-- Keeps the statement triggers of tracked partitioned families on every member: partitions created or attached since
-- get them, and join the accepted members when the log accounts for their rows and their columns line up (otherwise
-- partition_changes reports them until a snapshot commit); tables detached since lose them. Runs at every engine call
-- (reconcile): a few catalogue reads when nothing changed. It never waits: a partition it cannot lock at once, or
-- another engine call covering at the same time, leaves the work to the next call; a partition it may not add triggers
-- to (or a foreign table) stays uncovered and is reported.
CREATE OR REPLACE FUNCTION splitgraph_audit.cover_partitions() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    todo record;
    accounted boolean;
    changed integer := 0;
BEGIN
    -- Most engines track no partitioned table: one small read of tracked_tables.
    IF NOT EXISTS (SELECT 1 FROM splitgraph_audit.tracked_tables r JOIN pg_catalog.pg_class c ON c.oid = r.relid
                   WHERE c.relkind = 'p' AND NOT c.relispartition) THEN
        RETURN 0;
    END IF;
    FOR todo IN
        SELECT r.relid AS root, m.relid AS member, pg_catalog.format('%I.%I', ns.nspname, c.relname) AS target
        FROM splitgraph_audit.tracked_tables r JOIN pg_catalog.pg_class rc ON rc.oid = r.relid
        CROSS JOIN LATERAL splitgraph_audit.family_tree(r.relid) m
        JOIN pg_catalog.pg_class c ON c.oid = m.relid JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
        WHERE rc.relkind = 'p' AND NOT rc.relispartition AND m.relkind <> 'f' AND NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_trigger s WHERE s.tgrelid = m.relid AND s.tgname = 'audit_trigger_stmt_end')
    LOOP
        -- One engine call covers at a time (concurrent CREATE TRIGGER on one table fails); the others go on.
        IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('splitgraph.cover_partitions')) THEN
            RETURN changed;
        END IF;
        BEGIN
            EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE NOWAIT', todo.target);
            PERFORM splitgraph_audit.install_family_statement_triggers(todo.member,
                (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(x), ', ') FROM pg_catalog.unnest(splitgraph_audit.trigger_args(todo.root)) AS x));
            changed := changed + 1;
        EXCEPTION WHEN lock_not_available OR insufficient_privilege OR wrong_object_type OR feature_not_supported THEN
            RAISE NOTICE 'partition % of tracked table % is not covered: %', todo.target, todo.root::pg_catalog.regclass, SQLERRM;
        END;
    END LOOP;
    -- Members not accepted (attached or created since) nor rejected yet: accepted when covered, in line, and their rows
    -- accounted for; rejected otherwise (reported until a snapshot commit; not checked again).
    FOR todo IN
        SELECT r.relid AS root, pg_catalog.split_part(m, ':', 1)::oid AS member, m AS link
        FROM splitgraph_audit.tracked_tables r JOIN pg_catalog.pg_class rc ON rc.oid = r.relid
        CROSS JOIN LATERAL pg_catalog.unnest(splitgraph_audit.family_members(r.relid)) m
        WHERE rc.relkind = 'p' AND NOT rc.relispartition
          AND NOT (m = ANY (coalesce(r.accepted_members, '{}'))) AND NOT (m = ANY (coalesce(r.rejected_members, '{}')))
          AND NOT (pg_catalog.split_part(m, ':', 1)::oid = ANY (splitgraph_audit.uncovered_members(r.relid)))
    LOOP
        BEGIN
            accounted := NOT (todo.member = ANY (splitgraph_audit.misaligned_members(todo.root)))
                AND splitgraph_audit.rows_accounted(todo.root, todo.member);
        EXCEPTION WHEN OTHERS THEN
            -- (A partition the engine may not read, say.) Reported, as a partition whose rows are not accounted for.
            RAISE NOTICE 'rows of partition % could not be checked: %', todo.member::pg_catalog.regclass, SQLERRM;
            accounted := false;
        END;
        UPDATE splitgraph_audit.tracked_tables SET
            accepted_members = CASE WHEN accounted THEN (SELECT pg_catalog.array_agg(x ORDER BY x) FROM (
                SELECT pg_catalog.unnest(coalesce(accepted_members, '{}')) UNION SELECT todo.link) u(x)) ELSE accepted_members END,
            rejected_members = CASE WHEN accounted THEN rejected_members ELSE coalesce(rejected_members, '{}') || todo.link END
        WHERE relid = todo.root;
        changed := changed + 1;
    END LOOP;
    -- Accepted members that left the family (DETACH) lose its statement triggers (they did nothing there: their
    -- functions check that the table is still in the family).
    FOR todo IN
        SELECT pg_catalog.format('%I.%I', ns.nspname, c.relname) AS target
        FROM splitgraph_audit.tracked_tables r JOIN pg_catalog.pg_class rc ON rc.oid = r.relid
        CROSS JOIN LATERAL pg_catalog.unnest(r.accepted_members) a
        JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.split_part(a, ':', 1)::oid JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
        WHERE rc.relkind = 'p' AND pg_catalog.pg_partition_root(c.oid) IS DISTINCT FROM r.relid
          AND EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'audit_trigger_stmt_end'
                      AND t.tgfoid = 'splitgraph_audit.end_family_statement()'::pg_catalog.regprocedure)
    LOOP
        BEGIN
            EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE NOWAIT', todo.target);
            EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS audit_trigger_stmt_end ON %s', todo.target);
            EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS audit_trigger_statement ON %s', todo.target);
            EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS audit_trigger_truncate ON %s', todo.target);
            EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS audit_trigger_stm ON %s', todo.target);
            EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS audit_trigger_stm_delete ON %s', todo.target);
            changed := changed + 1;
        EXCEPTION WHEN lock_not_available OR insufficient_privilege THEN
            RAISE NOTICE 'triggers of % (detached from a tracked table) stay: %', todo.target, SQLERRM;
        END;
    END LOOP;
    RETURN changed;
END $$;

-- What changed in a tracked table's partitions that the log cannot describe, or NULL: partitions attached with rows
-- the log does not hold, detached or dropped since the engine last accepted the set, not covered (no triggers: foreign
-- tables, partitions the engine may not add triggers to), or whose columns do not line up; or the tracked table itself
-- became a partition of another (rows written through that one bypass its statement triggers).
CREATE OR REPLACE FUNCTION splitgraph_audit.partition_changes(p_schema text, p_table text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tracked record;
    now_members text[];
    parent text;
    attached text;
    removed text;
    uncovered text;
    misaligned text;
BEGIN
    SELECT r.relid, r.accepted_members INTO tracked FROM splitgraph_audit.tracked_tables r WHERE r.schema_name = p_schema AND r.table_name = p_table;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT i.inhparent::pg_catalog.regclass::text INTO parent FROM pg_catalog.pg_class c JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid
    WHERE c.oid = tracked.relid AND c.relispartition;
    now_members := splitgraph_audit.family_members(tracked.relid);
    IF now_members IS NULL THEN
        RETURN CASE WHEN parent IS NOT NULL THEN 'it became a partition of ' || parent || ': detach it, or track ' || parent || ' instead' END;
    END IF;
    SELECT pg_catalog.string_agg(pg_catalog.split_part(m, ':', 1)::oid::pg_catalog.regclass::text, ', ' ORDER BY m) INTO attached
    FROM pg_catalog.unnest(now_members) m WHERE NOT (m = ANY (coalesce(tracked.accepted_members, '{}')))
      AND NOT (pg_catalog.split_part(m, ':', 1)::oid = ANY (splitgraph_audit.uncovered_members(tracked.relid)));
    SELECT pg_catalog.string_agg(CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.split_part(m, ':', 1)::oid)
                                      THEN pg_catalog.split_part(m, ':', 1)::oid::pg_catalog.regclass::text
                                      ELSE 'a dropped table (OID ' || pg_catalog.split_part(m, ':', 1) || ')' END, ', ' ORDER BY m) INTO removed
    FROM pg_catalog.unnest(tracked.accepted_members) m WHERE NOT (m = ANY (now_members));
    SELECT pg_catalog.string_agg(m::pg_catalog.regclass::text, ', ' ORDER BY m) INTO uncovered
    FROM pg_catalog.unnest(splitgraph_audit.uncovered_members(tracked.relid)) m;
    SELECT pg_catalog.string_agg(m::pg_catalog.regclass::text, ', ' ORDER BY m) INTO misaligned
    FROM pg_catalog.unnest(splitgraph_audit.misaligned_members(tracked.relid)) m;
    RETURN nullif(pg_catalog.concat_ws('; ',
        'it became a partition of ' || parent,
        'attached with rows the log does not hold: ' || attached,
        'detached or dropped (their rows left without being logged): ' || removed,
        'not covered by change tracking (foreign tables, or the engine may not add its triggers): ' || uncovered,
        'columns not in the same order as the root''s (row texts would not line up): ' || misaligned), '');
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

-- Versions (issue 18), Splitgraph's catalogue: an image is a commit of a repository (a schema of this engine); each
-- of its tables has a schema and an ordered chain of objects (a base snapshot, then fragments). Objects are shared by
-- images, never copied. HEAD and user tags are rows of tags (latest is computed). The foreign keys keep an image's
-- parent, tables and tags together; that every object of a chain exists is checked when an image is written.
CREATE TABLE IF NOT EXISTS splitgraph_meta.images (
    namespace text NOT NULL DEFAULT '',
    repository text NOT NULL,
    image_hash text NOT NULL CHECK (image_hash ~ '^[0-9a-f]{64}$'),
    parent_id text,
    created timestamptz NOT NULL DEFAULT now(),
    comment text,
    author text,
    PRIMARY KEY (repository, image_hash),
    FOREIGN KEY (repository, parent_id) REFERENCES splitgraph_meta.images (repository, image_hash)
);

CREATE TABLE IF NOT EXISTS splitgraph_meta.tables (
    namespace text NOT NULL DEFAULT '',
    repository text NOT NULL,
    image_hash text NOT NULL,
    table_name text NOT NULL,
    table_schema jsonb NOT NULL,
    object_ids text[] NOT NULL CHECK (pg_catalog.cardinality(object_ids) > 0),
    upserted bigint NOT NULL DEFAULT 0,
    deleted bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (repository, image_hash, table_name),
    FOREIGN KEY (repository, image_hash) REFERENCES splitgraph_meta.images (repository, image_hash) ON DELETE CASCADE
);

-- "Which images use this object" (delete refusal, cleanup, provenance) without scanning every chain.
CREATE INDEX IF NOT EXISTS tables_object_ids_idx ON splitgraph_meta.tables USING gin (object_ids);

CREATE TABLE IF NOT EXISTS splitgraph_meta.tags (
    namespace text NOT NULL DEFAULT '',
    repository text NOT NULL,
    image_hash text NOT NULL,
    tag text NOT NULL,
    PRIMARY KEY (repository, tag),
    FOREIGN KEY (repository, image_hash) REFERENCES splitgraph_meta.images (repository, image_hash) ON DELETE CASCADE
);

-- Objects of deleted repositories' images: the only ones cleanup removes by default (loose objects, committed per
-- table outside any repository, are never referenced by an image and must not vanish silently).
CREATE TABLE IF NOT EXISTS splitgraph_meta.released_objects (
    object_id text PRIMARY KEY
);

CREATE EXTENSION IF NOT EXISTS postgres_fdw;

-- Creates the foreign server and user mapping for another engine. Downloads give each object part a fresh server name
-- and drop it in the same transaction, so nothing is left behind by a crash; the ALTER/re-map branch only makes a
-- repeated name idempotent (the engine never passes one). Values arrive as parameters and are quoted here with %L, so
-- a password never has to be spliced into SQL text by the caller.
CREATE OR REPLACE FUNCTION splitgraph_meta.ensure_foreign_server(
    server_name text, host text, port int, dbname text, username text, password text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- Concurrent transfers from one remote would otherwise race on the server and mapping rows
    -- ("tuple concurrently updated"); held until the caller's transaction ends.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('splitgraph.fdw.' || server_name));
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_server WHERE srvname = server_name) THEN
        -- async_capable: scans of several servers under one Append fetch concurrently (downloads split large objects).
        EXECUTE pg_catalog.format('CREATE SERVER %I FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host %L, port %L, dbname %L, fetch_size %L, async_capable %L)',
            server_name, host, port::text, dbname, '10000', 'true');
    ELSE
        EXECUTE pg_catalog.format('ALTER SERVER %I OPTIONS (SET host %L, SET port %L, SET dbname %L)', server_name, host, port::text, dbname);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_user_mappings WHERE srvname = server_name AND usename = current_user) THEN
        EXECUTE pg_catalog.format('DROP USER MAPPING FOR CURRENT_USER SERVER %I', server_name);
    END IF;
    EXECUTE pg_catalog.format('CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (user %L, password %L)', server_name, username, password);
END $$;

-- Only the owner (the API's role) calls the engine's functions; trigger functions need no EXECUTE right to fire.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA splitgraph_audit FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION splitgraph_meta.ensure_foreign_server(text, text, int, text, text, text) FROM PUBLIC;
