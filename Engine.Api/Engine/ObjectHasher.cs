using System.Security.Cryptography;
using System.Text;
using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>
/// Content-addressed object IDs: <c>o</c> + 62 hex of sha256 over the schema and an order-independent combination
/// (four 60-bit sums) of per-row sha256 hashes of the rows' canonical text. Same rows and schema → same ID on every engine.
/// </summary>
public static class ObjectHasher
{
    public sealed record ContentHash(string ObjectId, string Hash, long RowCount);

    /// <remarks>ROW(t.*), not t: a bare t would mean a column called "t" when the table has one. Same text either way.</remarks>
    public static async Task<ContentHash> ComputeAsync(SqlEngine engine, string schema, string table, IReadOnlyList<ObjectColumn> schemaSpec, CancellationToken cancellationToken)
    {
        await CanonicalOutput.ApplyAsync(engine, cancellationToken);
        var row = (object?[])(await engine.RunSqlAsync(
            $"""
            SELECT count(*),
                   coalesce(sum(('x' || substr(h, 1, 15))::bit(60)::bigint::numeric), 0)::text,
                   coalesce(sum(('x' || substr(h, 16, 15))::bit(60)::bigint::numeric), 0)::text,
                   coalesce(sum(('x' || substr(h, 31, 15))::bit(60)::bigint::numeric), 0)::text,
                   coalesce(sum(('x' || substr(h, 46, 15))::bit(60)::bigint::numeric), 0)::text
            FROM (SELECT encode(sha256(convert_to(ROW(t.*)::text, 'UTF8')), 'hex') AS h FROM {Identifiers.Qualify(schema, table)} t) rows
            """, null, ResultShape.OneMany, cancellationToken))!;

        var rowCount = (long)row[0]!;
        var text = new StringBuilder();
        foreach (var column in schemaSpec)
        {
            text.Append(column.Ordinal).Append(':').Append(column.Name).Append(':').Append(column.Type).Append(':').Append(column.IsPrimaryKey).Append('\n');
        }

        text.Append(rowCount).Append('\n').Append(row[1]).Append('\n').Append(row[2]).Append('\n').Append(row[3]).Append('\n').Append(row[4]);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
        return new ContentHash("o" + hash[..62], hash, rowCount);
    }
}
