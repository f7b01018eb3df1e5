namespace SplitgraphAspire.Contracts;

/// <summary>A schema-qualified table name as the API takes it.</summary>
public sealed record TableRef(string Schema, string Table);

/// <summary>Body of track/untrack requests.</summary>
public sealed record TablesRequest(IReadOnlyList<TableRef> Tables);

/// <summary>A user table of an engine.</summary>
public sealed record TableInfo(string Schema, string Table, IReadOnlyList<string> PrimaryKey, bool Tracked, long RowEstimate);

/// <summary>A primary-key column with its type (including typmod, e.g. <c>character varying(10)</c>).</summary>
public sealed record PrimaryKeyColumn(string Column, string Type);

/// <summary><c>GET …/schemas/{schema}/changes</c>.</summary>
public sealed record SchemaChanges(bool HasPendingChanges, IReadOnlyList<string> ChangedTables);

/// <summary>Raw counts of logged inserts, deletes and updates of one table (no conflation).</summary>
public sealed record AggregateChanges(long Added, long Removed, long Updated);
