namespace Bench;

/// <summary>One line of the figures table.</summary>
public sealed record ResultRow(string Measure, string Value, string Baseline, double? Ratio, string Goal, bool? Met);

public sealed class Results
{
    private readonly List<ResultRow> _rows = [];
    private readonly List<string> _notes = [];

    public void Add(ResultRow row)
    {
        _rows.Add(row);
        Log.Info($"  {row.Measure}: {row.Value} | baseline {row.Baseline} | ratio {(row.Ratio is { } r ? r.ToString("0.00") : "—")} | goal {row.Goal} | {Met(row.Met)}");
    }

    /// <summary>A throughput-style figure: higher is better, ratio = value / baseline.</summary>
    public void Higher(string measure, double value, double baseline, string unit, double goal, string format = "N0") =>
        Add(new ResultRow(measure, $"{value.ToString(format)} {unit}", $"{baseline.ToString(format)} {unit}", value / baseline, $"≥ {goal:0.00}", value / baseline >= goal));

    /// <summary>A time figure compared with a baseline time: ratio = baseline / value (relative speed).</summary>
    public void Faster(string measure, double seconds, double baselineSeconds, double goal) =>
        Add(new ResultRow(measure, $"{seconds:0.000} s", $"{baselineSeconds:0.000} s", baselineSeconds / seconds, $"≥ {goal:0.00}", baselineSeconds / seconds >= goal));

    public void Note(string note)
    {
        _notes.Add(note);
        Log.Info("  note: " + note);
    }

    public void Print(TextWriter output)
    {
        output.WriteLine("| Measure | Value | Baseline | Ratio | Goal | Met? |");
        output.WriteLine("|---|---|---|---|---|---|");
        foreach (var row in _rows)
        {
            output.WriteLine($"| {row.Measure} | {row.Value} | {row.Baseline} | {(row.Ratio is { } r ? r.ToString("0.00") : "—")} | {row.Goal} | {Met(row.Met)} |");
        }

        if (_notes.Count > 0)
        {
            output.WriteLine();
            foreach (var note in _notes)
            {
                output.WriteLine("- " + note);
            }
        }
    }

    private static string Met(bool? met) => met switch { true => "yes", false => "**no**", null => "—" };
}

public static class Log
{
    private static readonly System.Diagnostics.Stopwatch Clock = System.Diagnostics.Stopwatch.StartNew();

    /// <summary>Progress goes to stderr so stdout holds only the table.</summary>
    public static void Info(string message) => Console.Error.WriteLine($"[{Clock.Elapsed.TotalSeconds,7:0.0}s] {message}");
}
