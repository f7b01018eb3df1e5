namespace Engine.Api.Engine;

/// <summary>
/// How <c>splitgraph_audit.log_inserts</c> logs a large insert into a table with a primary key: the first
/// <see cref="PerRowRows"/> rows of a statement one log row each, the rest as bulk entries of up to
/// <see cref="EntryKeys"/> keys, aggregated <see cref="AggregateRows"/> rows per pass. Installed at every initialize
/// (<c>Limits:BulkInsert*</c>, validated by <c>LimitsOptions</c>).
/// </summary>
public sealed record BulkLogging(int PerRowRows, int EntryKeys, int AggregateRows)
{
    /// <summary>The thresholds of <see cref="LimitsOptions"/>' defaults.</summary>
    public static BulkLogging Default { get; } = From(new LimitsOptions());

    public static BulkLogging From(LimitsOptions limits) =>
        new(limits.BulkInsertPerRowRows, limits.BulkInsertEntryKeys, limits.BulkInsertAggregateRows);
}
