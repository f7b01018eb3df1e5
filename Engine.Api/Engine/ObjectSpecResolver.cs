using SplitgraphAspire.Contracts;

namespace Engine.Api.Engine;

/// <summary>
/// Resolves an arriving object's column types on the engine that receives it, so no type text from a catalogue
/// entry (possibly another engine's) ever reaches SQL: each type is parsed by the receiving server
/// (<c>to_regtype</c>, as a parameter) and written back by it (<c>format_type</c> with the source column's typmod,
/// an integer); the result must be exactly the spec's text, and only the server's text is used afterwards.
/// </summary>
public static class ObjectSpecResolver
{
    /// <param name="receiver">A session on the receiving engine; it is rolled back afterwards (nothing is written).</param>
    /// <param name="source">The object table's columns on the sending engine (names and typmods from its pg_attribute).</param>
    /// <returns>The spec with the receiving server's type text.</returns>
    public static async Task<IReadOnlyList<ObjectColumn>> ResolveAsync(SqlEngine receiver, string objectId, IReadOnlyList<ObjectColumn> spec,
        IReadOnlyList<SourceColumn> source, CancellationToken cancellationToken)
    {
        if (spec.Count == 0 || spec.Count != source.Count || !ObjectEngine.IsFlagName(spec[^1].Name)
            || spec.Select(c => c.Name).Where((name, i) => name != source[i].Name).Any())
        {
            throw new InvalidObjectSpecException(objectId, "its catalogue entry does not describe its table's columns.");
        }

        var resolved = new List<ObjectColumn>(spec.Count);
        try
        {
            for (var i = 0; i < spec.Count; i++)
            {
                var column = spec[i];
                Identifiers.Validate(column.Name, "column name");
                // Pseudo-types (record, trigger, any…) cannot be column types.
                var type = await receiver.ScalarAsync<string?>(
                    "SELECT format_type(t.oid, $2) FROM pg_type t WHERE t.oid = to_regtype($1) AND t.typtype <> 'p'",
                    [column.Type, source[i].TypeModifier], cancellationToken);
                if (type is null || type != column.Type)
                {
                    throw new InvalidObjectSpecException(objectId,
                        $"the type '{Identifiers.Printable(column.Type)}' of column \"{Identifiers.Printable(column.Name)}\" does not resolve on engine '{receiver.Name}'.");
                }

                resolved.Add(column with { Type = type });
            }
        }
        catch (EngineException ex) when (ex is SqlRejectedException or InvalidInputException)
        {
            // to_regtype raises on text that is not a type name at all (PostgreSQL < 16).
            throw new InvalidObjectSpecException(objectId, $"a column type in its catalogue entry is not a type name on engine '{receiver.Name}' ({ex.Message}).");
        }
        finally
        {
            await receiver.RollbackAsync(cancellationToken);
        }

        return resolved;
    }

    /// <summary>A column of the object's table as the sending engine's pg_attribute has it.</summary>
    public sealed record SourceColumn(string Name, int TypeModifier);
}
