namespace Dashboard.Services;

/// <summary>The pending-change counters of one tracked table of an engine, for the overview chart.</summary>
public sealed record TablePendingChanges(string Engine, SplitgraphAspire.Contracts.TablePendingCounts Changes)
{
    public string Schema => Changes.Schema;

    public string Table => Changes.Table;

    public long Total => Changes.Total;
}
