namespace Postgres.Testing;

/// <summary>
/// Peak resident-set growth of this process during an operation. On Linux, writing 5 to /proc/self/clear_refs
/// resets the high-water mark (VmHWM), so the peak is exact; elsewhere a 5 ms sampler of the working set is used.
/// Shared by the bench (which reports it) and the engine tests (which bound it).
/// </summary>
public static class MemoryProbe
{
    public static async Task<(T Result, double GrowthMb)> MeasureAsync<T>(Func<Task<T>> operation)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var before = ReadStatusKb("VmRSS") ?? Environment.WorkingSet / 1024;
        var exact = TryResetPeak();
        long sampledPeak = before;
        using var stop = new CancellationTokenSource();
        var sampler = exact ? Task.CompletedTask : Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                sampledPeak = Math.Max(sampledPeak, Environment.WorkingSet / 1024);
                try
                {
                    await Task.Delay(5, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });

        var result = await operation();
        await stop.CancelAsync();
        await sampler;
        var peak = exact ? ReadStatusKb("VmHWM") ?? before : Math.Max(sampledPeak, Environment.WorkingSet / 1024);
        return (result, Math.Max(0, peak - before) / 1024.0);
    }

    private static bool TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return ReadStatusKb("VmHWM") is not null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            return false;
        }
    }

    private static long? ReadStatusKb(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0]);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }
}
