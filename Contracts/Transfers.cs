namespace SplitgraphAspire.Contracts;

/// <summary>Which way objects move, seen from the engine named in the route.</summary>
public enum TransferDirection
{
    Upload,
    Download,
}

/// <summary>Progress of a transfer: objects finished of all, and bytes/rows moved so far.</summary>
public sealed record TransferProgress(int ObjectsDone, int ObjectsTotal, long RowsCopied, long BytesCopied, string? CurrentObject);

/// <summary>A running or recently finished transfer, as <c>GET /api/transfers/{id}</c> reports it.</summary>
/// <param name="Direction"><c>upload</c> or <c>download</c>.</param>
/// <param name="Error">Why the transfer failed; null while it runs and when it succeeded.</param>
public sealed record TransferStatus(Guid Id, string Direction, string Engine, string Remote, TransferProgress Progress, bool Finished, string? Error);
