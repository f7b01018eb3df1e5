using System.Text.RegularExpressions;
using Engine.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Engine.Tests;

/// <summary>
/// The change log's statements (ChangeLogSql): each one built for a sample table whose names all need quoting, with a
/// two-column key, printed whole, with only named parameters and only quoted names; and the same statements run on
/// such a table in a real database (commit, net pages cached and not, raw pages) against a base-to-live oracle.
/// </summary>
public sealed partial class ChangeLogSqlTests(DatabaseFixture fixture, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    private TestDatabase Db => fixture.Db;

    private const string Schema = "Sales Q1";
    private const string Table = "Order Lines";

    private static readonly TableColumn Region = new(1, "Region", "text", true, true);
    private static readonly TableColumn LineNo = new(2, "line no", "integer", true, true);
    private static readonly TableColumn Note = new(3, "Note Text", "text", false, true);
    private static readonly TableColumn Amount = new(4, "Amount Due", "\"Money Type\"", true, true, Domain: true);

    /// <summary>("Region", "line no"): the first column's equality lives in an extension's schema (as citext's does).</summary>
    private static readonly ChangeKey PrimaryKey = ChangeKey.Primary([Region, LineNo], [new KeyEquality(new QualifiedOperator("Ext Types", "="), ImageExact: false), KeyEquality.Builtin]);

    private static readonly ChangeKey NoPrimaryKey = ChangeKey.WithoutPrimaryKey([Region, LineNo]);

    public static TheoryData<string> Statements() =>
    [
        nameof(ChangeLogSql.NetPage), nameof(ChangeLogSql.NetIndex), nameof(ChangeLogSql.NetRowsOf), nameof(ChangeLogSql.MultisetPage),
        nameof(ChangeLogSql.CommitKeyed), nameof(ChangeLogSql.CommitMultiset), nameof(ChangeLogSql.CommitSnapshot),
        nameof(ChangeLogSql.CommitCounts), nameof(ChangeLogSql.RawBulkEntries),
    ];

    [Theory]
    [MemberData(nameof(Statements))]
    public void A_built_statement_has_named_parameters_quoted_names_and_is_logged_whole(string statement)
    {
        var template = (string)typeof(ChangeLogSql).GetField(statement)!.GetValue(null)!;
        var log = new CapturingLogger();
        var key = statement is nameof(ChangeLogSql.CommitMultiset) or nameof(ChangeLogSql.MultisetPage) ? NoPrimaryKey : PrimaryKey;
        var sql = ChangeLogSql.Build(template, new ChangeLogTable(Schema, Table, key, [Region, LineNo, Note, Amount], "sg_staging_sample"), log, statement);
        output.WriteLine($"-- {statement} for \"{Schema}\".\"{Table}\", key (\"Region\", \"line no\"):\n{sql}");

        // Logged at Debug, whole.
        var (level, message) = Assert.Single(log.Entries);
        Assert.Equal(LogLevel.Debug, level);
        Assert.Contains(sql, message, StringComparison.Ordinal);

        // Every placeholder filled, no positional parameter; the table's named parameters where the statement reads the log.
        Assert.DoesNotMatch(@"\{[a-z_]+(\(.*?\))?\}", sql);
        Assert.DoesNotMatch(@"\$\d", sql);
        var parameters = NamedParameter().Matches(sql).Select(m => m.Groups[1].Value).ToHashSet();
        output.WriteLine($"-- parameters: {string.Join(", ", parameters.Order(StringComparer.Ordinal))}");
        if (statement is not (nameof(ChangeLogSql.CommitSnapshot) or nameof(ChangeLogSql.CommitCounts)))
        {
            Assert.Contains("schema", parameters);
            Assert.Contains("table", parameters);
        }

        if (key.IsPrimaryKey && statement is nameof(ChangeLogSql.NetPage) or nameof(ChangeLogSql.NetIndex) or nameof(ChangeLogSql.CommitKeyed) or nameof(ChangeLogSql.RawBulkEntries))
        {
            Assert.Contains("key_columns", parameters);
        }

        // Every name of the table appears only quoted.
        foreach (var name in new[] { Schema, Table, Region.Name, LineNo.Name, Note.Name, Amount.Name })
        {
            var all = Regex.Matches(sql, Regex.Escape(name)).Count;
            var quoted = Regex.Matches(sql, Regex.Escape($"\"{name}\"")).Count;
            Assert.True(all == quoted, $"{statement}: \"{name}\" appears {all - quoted} times unquoted.");
        }
    }

    /// <summary>Every statement of ChangeLogSql, by name (fragments are built through the statements that copy them in).</summary>
    public static TheoryData<string> AllStatements() =>
    [
        .. typeof(ChangeLogSql).GetFields().Where(f => f.IsLiteral && f.FieldType == typeof(string)
                                                      && f.Name is not (nameof(ChangeLogSql.Net) or nameof(ChangeLogSql.Copies) or nameof(ChangeLogSql.BulkKeys)))
            .Select(f => f.Name),
    ];

    /// <summary>
    /// Words followed by "(" that are SQL syntax, not function calls: keywords, and what the statements write as
    /// <c>name(</c> without calling anything (a CTE's or an alias's column list comes after AS, see the pattern).
    /// </summary>
    private static readonly HashSet<string> NotCalls = new(StringComparer.OrdinalIgnoreCase)
    {
        "select", "from", "where", "and", "or", "not", "as", "in", "exists", "any", "all", "on", "using", "lateral",
        "values", "filter", "over", "coalesce", "nullif", "greatest", "least", "cast", "row", "rows", "with", "then",
        "else", "when", "case", "by", "into", "join", "union", "is", "between", "returning", "distinct", "operator",
    };

    /// <summary>
    /// The API's sessions keep the default search_path ("$user", public), where anyone with CREATE on public can plant an
    /// exact-type overload that wins over a polymorphic, variadic or implicitly cast built-in (CVE-2018-1058): every
    /// function the statements call is schema-qualified.
    /// </summary>
    [Theory]
    [MemberData(nameof(AllStatements))]
    public void A_built_statement_calls_only_schema_qualified_functions(string statement)
    {
        var template = (string)typeof(ChangeLogSql).GetField(statement)!.GetValue(null)!;
        var keyed = statement is not (nameof(ChangeLogSql.CommitMultiset) or nameof(ChangeLogSql.MultisetPage));
        foreach (var key in keyed ? new[] { PrimaryKey, NoPrimaryKey } : [NoPrimaryKey])
        {
            var sql = ChangeLogSql.Build(template, new ChangeLogTable(Schema, Table, key, [Region, LineNo, Note, Amount], "sg_staging_sample"), new CapturingLogger(), statement);
            // Comments, string literals and quoted names are not calls.
            var code = QuotedName().Replace(StringLiteral().Replace(Comment().Replace(sql, ""), "''"), "\"q\"");
            var offenders = UnqualifiedCall().Matches(code).Select(m => m.Groups["name"].Value).Where(n => !NotCalls.Contains(n)).ToList();
            Assert.True(offenders.Count == 0, $"{statement}: unqualified calls {string.Join(", ", offenders)} in\n{sql}");
        }
    }

    [Fact]
    public void The_unqualified_call_check_finds_a_planted_call()
    {
        var code = "SELECT last_value(x) OVER w, pg_catalog.count(*), \"f\"(1), k AS a(b int) FROM t WHERE EXISTS (SELECT 1) -- note (here)";
        var found = UnqualifiedCall().Matches(QuotedName().Replace(Comment().Replace(code, ""), "\"q\""))
            .Select(m => m.Groups["name"].Value).Where(n => !NotCalls.Contains(n));
        Assert.Equal(["last_value"], found);
    }

    [GeneratedRegex(@"--[^\n]*")]
    private static partial Regex Comment();

    [GeneratedRegex(@"'(?:[^']|'')*'")]
    private static partial Regex StringLiteral();

    [GeneratedRegex("\"(?:[^\"]|\"\")*\"")]
    private static partial Regex QuotedName();

    /// <summary>A name and "(", not after "." (qualified), a quote, "::" (a type's modifiers) or AS (an alias's columns).</summary>
    [GeneratedRegex(@"(?<![\w.""':])(?<!\bAS\s+)(?<name>[A-Za-z_]\w*)\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex UnqualifiedCall();

    /// <summary>
    /// A bare <c>=</c> (or <c>&lt;&gt;</c>, <c>IN</c>, <c>IS [NOT] DISTINCT FROM</c>, <c>USING (…)</c>) on a key column resolves
    /// through the session's search_path: every built statement compares key columns only with the key's own operators,
    /// schema-qualified (here <c>"Ext Types".=</c> for "Region", as citext's lives in its extension's schema).
    /// </summary>
    [Theory]
    [MemberData(nameof(AllStatements))]
    public void A_built_statement_compares_key_columns_only_with_the_keys_operators(string statement)
    {
        var template = (string)typeof(ChangeLogSql).GetField(statement)!.GetValue(null)!;
        var sql = ChangeLogSql.Build(template, new ChangeLogTable(Schema, Table, PrimaryKey, [Region, LineNo, Note, Amount], "sg_staging_sample"), new CapturingLogger(), statement);
        var bare = BareKeyComparisons(sql, PrimaryKey.Names);
        Assert.True(bare.Count == 0, $"{statement}: bare comparisons of key columns {string.Join(" | ", bare)} in\n{sql}");
        if (template.Contains("{key_match", StringComparison.Ordinal))
        {
            Assert.Contains("s.\"Region\" OPERATOR(\"Ext Types\".=) k.\"Region\" AND s.\"line no\" OPERATOR(\"pg_catalog\".=) k.\"line no\"", sql, StringComparison.Ordinal);
        }

        // A key whose equality is not identity (the operator above) may meet one live row under two logged keys.
        if (statement == nameof(ChangeLogSql.CommitKeyed))
        {
            Assert.EndsWith("ON CONFLICT DO NOTHING", sql.TrimEnd(), StringComparison.Ordinal);
            var exact = ChangeKey.Primary([Region, LineNo], [KeyEquality.Builtin, KeyEquality.Builtin]);
            Assert.DoesNotContain("ON CONFLICT", ChangeLogSql.Build(template, new ChangeLogTable(Schema, Table, exact, [Region, LineNo, Note, Amount], "sg_staging_sample"),
                new CapturingLogger(), statement), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_bare_comparison_check_finds_planted_comparisons()
    {
        var found = BareKeyComparisons(
            """
            SELECT 1 FROM a s JOIN b k ON s."Region" = k."Region" AND s."line no" OPERATOR("pg_catalog".=) k."line no"
            WHERE k."line no" IN (1) OR k."line no" <> 2 OR 3 = s."line no" OR s."Region" IS NOT DISTINCT FROM 'x' OR s."Region" IS DISTINCT FROM 'y'
            UNION SELECT 1 FROM a JOIN b USING ("Region") WHERE s."Note Text" = 'z'
            """, ["Region", "line no"]);
        Assert.Equal(7, found.Count);
    }

    /// <summary>Comparisons of the named columns by a bare operator, IN, IS [NOT] DISTINCT FROM or a join's USING list.</summary>
    private static List<string> BareKeyComparisons(string sql, IReadOnlyList<string> keyNames)
    {
        var names = string.Join("|", keyNames.Select(n => Regex.Escape($"\"{n}\"")));
        var code = StringLiteral().Replace(Comment().Replace(sql, ""), "''");
        var pattern = $@"(?:{names})\s*(?:=|<>|!=|\bIN\s*\(|\bIS\s+(?:NOT\s+)?DISTINCT\b)|(?<![<>!=])(?:=|<>|!=)\s*(?:\w+\.)?(?:{names})|\bUSING\s*\([^)]*(?:{names})";
        return Regex.Matches(code, pattern, RegexOptions.IgnoreCase).Select(m => m.Value).ToList();
    }

    [Fact]
    public void An_unknown_placeholder_is_refused()
    {
        var key = PrimaryKey;
        var error = Assert.Throws<InvalidOperationException>(() =>
            ChangeLogSql.Build("SELECT {nothing} FROM {source}", new ChangeLogTable(Schema, Table, key), new CapturingLogger(), "sample"));
        Assert.Contains("{nothing}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Commit_net_and_raw_pages_run_on_a_table_whose_names_need_quoting()
    {
        var schema = $"Sales Q1 {Guid.NewGuid().ToString("N")[..6]}";
        var table = $"\"{schema}\".\"{Table}\"";
        await Db.ExecAsync(
            $"""
            CREATE SCHEMA "{schema}";
            CREATE TABLE {table} ("Region" text, "line no" int, "Note Text" text, PRIMARY KEY ("Region", "line no"));
            INSERT INTO {table} SELECT CASE WHEN g % 2 = 0 THEN 'north' ELSE 'south' END, g, 'note ' || g FROM generate_series(1, 200) g;
            CREATE TABLE "{schema}".base AS SELECT * FROM {table};
            """);
        await Objects.TrackAsync(Db, schema, Table);
        // A bulk insert (keys logged in bulk entries), updates, key changes, deletes, and a row changed and changed back.
        await Db.ExecAsync($"INSERT INTO {table} SELECT 'east', g, 'bulk ' || g FROM generate_series(1, 1500) g");
        await Db.ExecAsync($"UPDATE {table} SET \"Note Text\" = \"Note Text\" || ' changed' WHERE \"line no\" % 7 = 0");
        await Db.ExecAsync($"UPDATE {table} SET \"line no\" = \"line no\" + 10000 WHERE \"Region\" = 'north' AND \"line no\" BETWEEN 20 AND 40");
        await Db.ExecAsync($"DELETE FROM {table} WHERE \"line no\" % 11 = 0");
        await Db.ExecAsync($"UPDATE {table} SET \"Note Text\" = 'x' WHERE \"Region\" = 'south' AND \"line no\" = 1");
        await Db.ExecAsync($"UPDATE {table} SET \"Note Text\" = 'note 1' WHERE \"Region\" = 'south' AND \"line no\" = 1");

        // The oracle: keys whose row differs between the base copy and the live table.
        var differ = $"FROM \"{schema}\".base b FULL JOIN {table} l ON (b.\"Region\", b.\"line no\") = (l.\"Region\", l.\"line no\")";
        var upserts = await Db.ScalarAsync<long>($"SELECT count(*) {differ} WHERE l.\"Region\" IS NOT NULL AND (b.\"Region\" IS NULL OR b.\"Note Text\" IS DISTINCT FROM l.\"Note Text\")");
        var deletes = await Db.ScalarAsync<long>($"SELECT count(*) {differ} WHERE l.\"Region\" IS NULL");
        output.WriteLine($"expected: {upserts} upserts, {deletes} deletes");

        List<string> net;
        await using (var engine = Db.Engine())
        {
            var changes = new ChangeEngine(engine);
            // The uncached page (NetPage) and the cached view's pages by offset (NetIndex + NetRowsOf) agree.
            var whole = await changes.GetNetChangesAsync(schema, Table, 0, 100_000);
            net = whole.Entries.Select(Text).ToList();
            Assert.Equal(upserts + deletes, net.Count);
            Assert.Equal(upserts, whole.Entries.Count(e => e.Upserted));
            var cache = new NetViewCache();
            var paged = new List<string>();
            while (true)
            {
                var page = await changes.GetNetChangesAsync(schema, Table, new NetPageRequest(0, 97, paged.Count), null, cache, "e");
                Assert.Equal(net.Count, page.Total);
                paged.AddRange(page.Entries.Select(Text));
                if (page.Entries.Count == 0 || paged.Count == net.Count)
                {
                    break;
                }
            }

            Assert.Equal(net, paged);

            // Raw pages by cursor (RawLogPage, RawBulkEntries) cover the log's exact total (RawLogCounts); every bulk-inserted row is there whole.
            var raw = new List<ChangeEntry>();
            long after = 0;
            do
            {
                var page = await changes.GetPendingChangesAsync(schema, Table, after, 333);
                raw.AddRange(page.Entries);
                after = page.NextAfter ?? -1;
            }
            while (after >= 0);
            var total = (await changes.GetPendingChangesAtAsync(schema, Table, 0, 1, null, cache, "e")).Total;
            Assert.Equal(total, raw.Count);
            var bulk = raw.Where(e => e.Upserted && e.OldRow is null && e.PrimaryKey.GetProperty("Region").GetString() == "east").ToList();
            Assert.Equal(1500, bulk.Count);
            Assert.All(bulk, e => Assert.StartsWith("bulk ", e.NewRow!.Value.GetProperty("Note Text").GetString(), StringComparison.Ordinal));
        }

        // The commit (CommitKeyed) holds exactly those changes: applied to the base copy it gives the live table.
        var result = await Objects.CommitAsync(Db, schema, Table);
        Assert.Equal((upserts, deletes), (result.Upserts, result.Deletes));
        await Objects.ApplyAsync(Db, [result.ObjectId!], schema, "base");
        Assert.Equal(await Db.RowsAsync(table), await Db.RowsAsync($"\"{schema}\".base"));
    }

    /// <summary>
    /// CVE-2018-1058 on the change log's statements: the API's sessions keep the default search_path ("$user", public),
    /// so an exact-type overload planted in public wins over a polymorphic (last_value, unnest), variadic
    /// (jsonb_build_object) or implicitly cast (bigint | int) built-in called unqualified. With such overloads in place
    /// (each raises), net pages, raw pages and commit still run and give the base-to-live oracle's result.
    /// </summary>
    [Fact]
    public async Task Net_raw_pages_and_commit_ignore_exact_type_overloads_planted_in_public()
    {
        await using var db = await TestDatabase.CreateAsync("planted");
        var schema = await db.NewSchemaAsync("planted");
        var table = $"{schema}.t";
        await db.ExecAsync($"CREATE TABLE {table} (id int PRIMARY KEY, v int); INSERT INTO {table} SELECT g, g FROM generate_series(1, 100) g");
        await Objects.CopyTableAsync(db, schema, "t", "before");
        await Objects.TrackAsync(db, schema, "t");
        // 1,500 rows: the tail goes to a bulk entry (keys only); then updates, deletes and a row changed and back.
        await db.ExecAsync($"INSERT INTO {table} SELECT g, g FROM generate_series(101, 1600) g");
        await db.ExecAsync($"UPDATE {table} SET v = -v WHERE id % 10 = 0; DELETE FROM {table} WHERE id % 7 = 0");
        await db.ExecAsync($"UPDATE {table} SET v = 0 WHERE id = 5; UPDATE {table} SET v = 5 WHERE id = 5");

        await db.ExecAsync(
            """
            CREATE FUNCTION public.last_value(boolean) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'planted last_value(boolean)'; END$$;
            CREATE FUNCTION public.jsonb_build_object(text, jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'planted jsonb_build_object(text, jsonb)'; END$$;
            CREATE FUNCTION public.unnest(bigint[], integer[], integer[]) RETURNS TABLE (a bigint, b integer, c integer)
                LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'planted unnest(bigint[], integer[], integer[])'; END$$;
            CREATE FUNCTION public.planted_or(bigint, integer) RETURNS bigint LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'planted bigint | integer'; END$$;
            CREATE OPERATOR public.| (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = public.planted_or);
            """);
        // The API's sessions have the default search_path, where the planted overloads win over the built-ins.
        await using (var engine = db.Engine())
        {
            Assert.Equal("\"$user\", public", await engine.ScalarAsync<string>("SHOW search_path"));
        }

        // (A three-argument unnest in FROM is expanded by the parser into pg_catalog.unnest calls: the plant above never wins.)
        foreach (var call in new[] { "SELECT jsonb_build_object('k'::text, '1'::jsonb)", "SELECT 1::bigint | 1::int", "SELECT last_value(true)" })
        {
            var planted = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => db.ExecAsync(call));
            Assert.StartsWith("planted", planted.MessageText, StringComparison.Ordinal);
        }

        var differ = $"FROM {schema}.before b FULL JOIN {table} l ON b.id = l.id";
        var upserts = await db.ScalarAsync<long>($"SELECT count(*) {differ} WHERE l.id IS NOT NULL AND (b.id IS NULL OR b.v IS DISTINCT FROM l.v)");
        var deletes = await db.ScalarAsync<long>($"SELECT count(*) {differ} WHERE l.id IS NULL");
        output.WriteLine($"expected: {upserts} upserts, {deletes} deletes");

        await using (var engine = db.Engine())
        {
            var changes = new ChangeEngine(engine);
            var net = await changes.GetNetChangesAsync(schema, "t", 0, 100_000);
            Assert.Equal((upserts, deletes), ((long)net.Entries.Count(e => e.Upserted), (long)net.Entries.Count(e => !e.Upserted)));
            var cache = new NetViewCache();
            Assert.Equal(upserts + deletes, (await changes.GetNetChangesAsync(schema, "t", new NetPageRequest(0, 50, 0), null, cache, "e")).Total);

            var raw = new List<ChangeEntry>();
            long after = 0;
            do
            {
                var page = await changes.GetPendingChangesAsync(schema, "t", after, 400);
                raw.AddRange(page.Entries);
                after = page.NextAfter ?? -1;
            }
            while (after >= 0);
            Assert.Equal(1500, raw.Count(e => e.Upserted && e.OldRow is null));
            Assert.All(raw.Where(e => e.Upserted && e.OldRow is null), e => Assert.NotNull(e.NewRow));
        }

        var result = await Objects.CommitAsync(db, schema, "t");
        Assert.Equal((upserts, deletes), (result.Upserts, result.Deletes));
        await Objects.ApplyAsync(db, [result.ObjectId!], schema, "before");
        Assert.Equal(await db.RowsAsync(table), await db.RowsAsync($"{schema}.before"));
    }

    /// <summary>
    /// A keyed table tracked with jsonb-exact columns only gains a float8 column while nothing is pending: its triggers
    /// log row texts ('texts') only from its next commit on, so the two updates below are logged without them. In jsonb
    /// (which writes -0 as 0) the row ends where it started; the net view must not drop it, since the table has a column
    /// jsonb does not write exactly: the commit upserts it and the copy of the base gets the -0.
    /// </summary>
    [Fact]
    public async Task Negative_zero_logged_without_texts_after_add_column_is_committed()
    {
        var schema = await Db.NewSchemaAsync("addcol");
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v int); INSERT INTO {schema}.t VALUES (1, 1)");
        await Objects.TrackAsync(Db, schema, "t");
        await Objects.CommitAsync(Db, schema, "t");
        await Db.ExecAsync($"ALTER TABLE {schema}.t ADD COLUMN f float8 DEFAULT 0");
        await Objects.CopyTableAsync(Db, schema, "t", "before");
        await Db.ExecAsync($"UPDATE {schema}.t SET f = '-0', v = 2; UPDATE {schema}.t SET v = 1");
        output.WriteLine("entries logged without row texts: " + await Db.ScalarAsync<long>(
            $"SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = '{schema}' AND table_name = 't' AND row_text IS NULL"));

        await AssertCommitGivesLiveByImageAsync(schema, 1);
    }

    /// <summary>
    /// The same with the triggers as an older engine installed them (no arguments) on a float8 table: every entry is
    /// logged without texts although trigger_args says 'texts'.
    /// </summary>
    [Fact]
    public async Task Negative_zero_logged_by_triggers_without_texts_is_committed()
    {
        var schema = await Db.NewSchemaAsync("oldtrg");
        await Db.ExecAsync($"CREATE TABLE {schema}.t (id int PRIMARY KEY, v int, f float8); INSERT INTO {schema}.t VALUES (1, 1, 0), (2, 2, 0)");
        await Objects.CopyTableAsync(Db, schema, "t", "before");
        await Objects.TrackAsync(Db, schema, "t");
        await Db.ExecAsync($"CREATE OR REPLACE TRIGGER audit_trigger_row AFTER UPDATE ON {schema}.t FOR EACH ROW EXECUTE FUNCTION splitgraph_audit.log_update()");
        await Db.ExecAsync($"UPDATE {schema}.t SET f = '-0', v = 7 WHERE id = 1; UPDATE {schema}.t SET v = 1 WHERE id = 1");
        // A row changed and back: without texts the net view cannot tell it from the one above, so it keeps it (an upsert of the row as it is).
        await Db.ExecAsync($"UPDATE {schema}.t SET v = 9 WHERE id = 2; UPDATE {schema}.t SET v = 2 WHERE id = 2");
        Assert.Equal(0L, await Db.ScalarAsync<long>(
            $"SELECT count(*) FROM splitgraph_audit.logged_actions WHERE schema_name = '{schema}' AND table_name = 't' AND row_text IS NOT NULL"));

        await AssertCommitGivesLiveByImageAsync(schema, 2);
    }

    /// <summary>Commits t, applies the object to before, and compares the two by record image (*=, which tells -0 from 0).</summary>
    private async Task AssertCommitGivesLiveByImageAsync(string schema, long rows)
    {
        var result = await Objects.CommitAsync(Db, schema, "t");
        output.WriteLine($"committed: {result.Upserts} upserts, {result.Deletes} deletes");
        Assert.NotNull(result.ObjectId);
        await Objects.ApplyAsync(Db, [result.ObjectId], schema, "before");
        Assert.Equal(await Db.RowsAsync($"{schema}.t"), await Db.RowsAsync($"{schema}.before"));
        Assert.Equal((rows, rows), (
            await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.t"),
            await Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.before b JOIN {schema}.t t ON b.id = t.id WHERE b *= t")));
    }

    private static string Text(ChangeEntry e) =>
        $"{e.PrimaryKey.GetRawText()} {e.Upserted} {e.OldRow?.GetRawText()} {e.NewRow?.GetRawText()}";

    [GeneratedRegex(@"@([a-z_]+)")]
    private static partial Regex NamedParameter();

    private sealed class CapturingLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception)));
    }
}
