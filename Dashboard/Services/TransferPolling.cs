using SplitgraphAspire.Contracts;

namespace Dashboard.Services;

/// <summary>Polls a transfer's progress (<c>GET /api/transfers/{id}</c>) on a clock until cancelled.</summary>
public static class TransferPolling
{
    /// <summary>
    /// Every <paramref name="interval"/> on <paramref name="time"/>, reads the transfer and hands a known status to
    /// <paramref name="onStatus"/>. Progress is best effort: failed reads are skipped; the transfer call itself reports
    /// the outcome. Ends quietly when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public static async Task RunAsync(EngineApiClient api, Guid transferId, TimeSpan interval, TimeProvider time,
        Func<TransferStatus, Task> onStatus, CancellationToken cancellationToken)
    {
        try
        {
            using var timer = new PeriodicTimer(interval, time);
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    if (await api.GetTransferAsync(transferId, cancellationToken) is { } status)
                    {
                        await onStatus(status);
                    }
                }
                catch (EngineApiException)
                {
                    // Skipped: the next tick reads again.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
