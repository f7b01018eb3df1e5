namespace Dashboard.Services;

/// <summary>Progress of a transfer as <c>GET /api/transfers/{id}</c> reports it.</summary>
public sealed record TransferProgressInfo(int ObjectsDone, int ObjectsTotal, long RowsCopied, long BytesCopied, string? CurrentObject);

/// <summary>A running or finished transfer (<c>GET /api/transfers/{id}</c>).</summary>
public sealed record TransferStatusInfo(Guid Id, string Direction, string Engine, string Remote, TransferProgressInfo Progress, bool Finished, string? Error);

/// <summary>Which way objects move, seen from the engine whose page it is.</summary>
public enum TransferDirection
{
    Upload,
    Download,
}

/// <summary>The pending-change counters of one tracked table of an engine, for the overview chart.</summary>
public sealed record TablePendingChanges(string Engine, SplitgraphAspire.Contracts.TablePendingCounts Changes)
{
    public string Schema => Changes.Schema;

    public string Table => Changes.Table;

    public long Total => Changes.Total;
}
