using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Every timeout and size threshold of the API, the Dashboard and the engines' change log, bound from the <c>Limits</c>
/// section (e.g. <c>Limits__RequestTimeout=00:30:00</c>) and checked at start. The README's "Limits" table documents each.
/// </summary>
public sealed class LimitsOptions
{
    public const string Section = "Limits";

    public const long DefaultTransferSplitBytes = 16L * 1024 * 1024;

    /// <summary>API: longest a single SQL statement may run (Npgsql's command timeout), except during transfers.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(600);

    /// <summary>API: a request that runs longer is cut off with 504 (transfers excepted: see <see cref="TransferStallTimeout"/>).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// API: a transfer is cut off (504) only when it has reported no progress for this long, however long it runs.
    /// An upload reports progress as bytes stream; a download once per object.
    /// </summary>
    public TimeSpan TransferStallTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Dashboard → API: one attempt of a call (transfers excepted: the API bounds them by their progress).</summary>
    public TimeSpan ClientAttemptTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Dashboard → API: a call with its retries (transfers excepted).</summary>
    public TimeSpan ClientTotalTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Dashboard → API: the circuit breaker's sampling window (at least twice <see cref="ClientAttemptTimeout"/>).</summary>
    public TimeSpan ClientCircuitSamplingDuration { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>API: a downloaded object at least this large is pulled as two parts over two connections.</summary>
    public long TransferSplitBytes { get; set; } = DefaultTransferSplitBytes;

    /// <summary>Engine: the first rows of an insert statement into a tracked table with a primary key logged one by one.</summary>
    public int BulkInsertPerRowRows { get; set; } = 1000;

    /// <summary>
    /// Engine: keys per bulk log entry past <see cref="BulkInsertPerRowRows"/>. At most <see cref="MaxBulkInsertEntryKeys"/>:
    /// net-change positions number the keys of an entry in 16 bits.
    /// </summary>
    public int BulkInsertEntryKeys { get; set; } = 10000;

    /// <summary>Engine: rows of a bulk insert aggregated into key arrays in one pass (bounds its memory); larger statements are grouped by row number.</summary>
    public int BulkInsertAggregateRows { get; set; } = 1000000;

    public const int MaxBulkInsertEntryKeys = 65535;

    /// <summary>What is wrong with these settings; empty when they can be used.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        void Positive(TimeSpan value, string name)
        {
            if (value <= TimeSpan.Zero)
            {
                problems.Add($"{Section}:{name} must be positive (it is {value}).");
            }
        }

        Positive(CommandTimeout, nameof(CommandTimeout));
        Positive(RequestTimeout, nameof(RequestTimeout));
        Positive(TransferStallTimeout, nameof(TransferStallTimeout));
        Positive(ClientAttemptTimeout, nameof(ClientAttemptTimeout));
        Positive(ClientTotalTimeout, nameof(ClientTotalTimeout));
        if (ClientTotalTimeout < ClientAttemptTimeout)
        {
            problems.Add($"{Section}:{nameof(ClientTotalTimeout)} ({ClientTotalTimeout}) must be at least {nameof(ClientAttemptTimeout)} ({ClientAttemptTimeout}).");
        }

        if (ClientCircuitSamplingDuration < 2 * ClientAttemptTimeout)
        {
            problems.Add($"{Section}:{nameof(ClientCircuitSamplingDuration)} ({ClientCircuitSamplingDuration}) must be at least twice {nameof(ClientAttemptTimeout)} ({ClientAttemptTimeout}).");
        }

        if (TransferSplitBytes <= 0)
        {
            problems.Add($"{Section}:{nameof(TransferSplitBytes)} must be positive (it is {TransferSplitBytes}).");
        }

        if (BulkInsertPerRowRows < 1)
        {
            problems.Add($"{Section}:{nameof(BulkInsertPerRowRows)} must be at least 1 (it is {BulkInsertPerRowRows}).");
        }

        if (BulkInsertEntryKeys is < 1 or > MaxBulkInsertEntryKeys)
        {
            problems.Add($"{Section}:{nameof(BulkInsertEntryKeys)} must be 1 to {MaxBulkInsertEntryKeys} (it is {BulkInsertEntryKeys}).");
        }

        if (BulkInsertAggregateRows < BulkInsertEntryKeys)
        {
            problems.Add($"{Section}:{nameof(BulkInsertAggregateRows)} ({BulkInsertAggregateRows}) must be at least {nameof(BulkInsertEntryKeys)} ({BulkInsertEntryKeys}).");
        }

        return problems;
    }
}

public static class LimitsExtensions
{
    /// <summary>
    /// Binds <see cref="LimitsOptions"/>, fails the start with every problem named if the settings are unusable, and
    /// registers them (<c>IOptions&lt;LimitsOptions&gt;</c>); returns them for wiring done while building.
    /// </summary>
    public static LimitsOptions AddLimits(this IHostApplicationBuilder builder)
    {
        var limits = builder.Configuration.GetSection(LimitsOptions.Section).Get<LimitsOptions>() ?? new LimitsOptions();
        if (limits.Problems() is { Count: > 0 } problems)
        {
            throw new OptionsValidationException(LimitsOptions.Section, typeof(LimitsOptions), problems);
        }

        builder.Services.AddSingleton(Options.Options.Create(limits));
        return limits;
    }
}
