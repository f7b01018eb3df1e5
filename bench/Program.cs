using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Bench;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

Options options;
try
{
    options = Options.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException)
{
    await Console.Error.WriteLineAsync(ex.Message);
    return 2;
}

var total = Stopwatch.StartNew();
Log.Info($"bench: reps={options.Reps}{(options.Smoke ? " (smoke)" : string.Empty)}, measures={string.Join(",", Options.AllMeasures.Where(options.Only.Contains))}");
await using var harness = await Harness.StartAsync(options);
var results = new Results();
var measures = new Measures(harness, options, results);
foreach (var id in Options.AllMeasures.Where(options.Only.Contains))
{
    var one = Stopwatch.StartNew();
    Log.Info($"── {id} ──");
    await measures.RunAsync(id);
    Log.Info($"{id} done in {one.Elapsed.TotalSeconds:0.0} s");
}

var settings = await harness.DescribeAsync();
Console.WriteLine();
Console.WriteLine($"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.MachineName}: {Environment.ProcessorCount} cores, " +
    $"{RuntimeInformation.OSDescription}, .NET {Environment.Version}; {settings}; reps={options.Reps} (median){(options.Smoke ? ", SMOKE sizes" : string.Empty)}; " +
    $"total {total.Elapsed.TotalSeconds:0} s.");
Console.WriteLine();
results.Print(Console.Out);
return 0;
