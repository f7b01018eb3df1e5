namespace Bench;

/// <summary>Command-line options. Sizes default to the issue's figures; <c>--smoke</c> shrinks every one.</summary>
public sealed class Options
{
    public static readonly string[] AllMeasures = ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10", "P11", "P12"];

    public int Reps { get; set; } = 3;

    public bool Smoke { get; set; }

    public HashSet<string> Only { get; set; } = new(AllMeasures, StringComparer.OrdinalIgnoreCase);

    /// <summary>Rows of the bulk load (P2) and of the transferred object (P4, P5), and of P6's base table.</summary>
    public int Rows { get; set; } = 1_000_000;

    /// <summary>P1: concurrent clients and transactions per client per run.</summary>
    public int Clients { get; set; } = 8;

    public int P1Transactions { get; set; } = 1_000;

    /// <summary>P3: rows of the log in all, and logged rows of the measured table.</summary>
    public int LogRows { get; set; } = 5_000_000;

    public int LogTableRows { get; set; } = 1_000_000;

    /// <summary>P6: number of fragments and rows per fragment.</summary>
    public int Fragments { get; set; } = 10;

    public int FragmentRows { get; set; } = 100_000;

    /// <summary>P7: pending changes committed.</summary>
    public int CommitRows { get; set; } = 100_000;

    /// <summary>P11: pending changes of the table whose net view is paged.</summary>
    public int NetRows { get; set; } = 330_000;

    public string? PgBin { get; set; }

    public static Options Parse(string[] args)
    {
        var options = new Options();
        int? reps = null;
        var sizes = new Dictionary<string, int>();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() => int.Parse(Next().Replace("_", string.Empty).Replace("k", "000").Replace("M", "000000"), System.Globalization.CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--smoke": options.Smoke = true; break;
                case "--reps": reps = Int(); break;
                case "--only":
                    options.Only = new HashSet<string>(Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.OrdinalIgnoreCase);
                    var unknown = options.Only.Except(AllMeasures, StringComparer.OrdinalIgnoreCase).ToList();
                    if (unknown.Count > 0)
                    {
                        throw new ArgumentException($"Unknown measure(s): {string.Join(", ", unknown)}");
                    }

                    break;
                case "--rows": sizes["rows"] = Int(); break;
                case "--clients": sizes["clients"] = Int(); break;
                case "--p1-tx": sizes["p1tx"] = Int(); break;
                case "--log-rows": sizes["log"] = Int(); break;
                case "--log-table-rows": sizes["logtable"] = Int(); break;
                case "--fragments": sizes["fragments"] = Int(); break;
                case "--fragment-rows": sizes["fragrows"] = Int(); break;
                case "--commit-rows": sizes["commit"] = Int(); break;
                case "--net-rows": sizes["net"] = Int(); break;
                case "--pg-bin": options.PgBin = Next(); break;
                case "-h" or "--help": PrintHelp(); Environment.Exit(0); break;
                default: throw new ArgumentException($"Unknown argument {args[i]} (see --help)");
            }
        }

        if (options.Smoke)
        {
            options.Reps = 1;
            options.Rows = 1_000;
            options.P1Transactions = 25;
            options.LogRows = 5_000;
            options.LogTableRows = 1_000;
            options.FragmentRows = 100;
            options.CommitRows = 1_000;
            options.NetRows = 2_000;
        }

        options.Reps = reps ?? options.Reps;
        options.Rows = sizes.GetValueOrDefault("rows", options.Rows);
        options.Clients = sizes.GetValueOrDefault("clients", options.Clients);
        options.P1Transactions = sizes.GetValueOrDefault("p1tx", options.P1Transactions);
        options.LogRows = sizes.GetValueOrDefault("log", options.LogRows);
        options.LogTableRows = sizes.GetValueOrDefault("logtable", options.LogTableRows);
        options.Fragments = sizes.GetValueOrDefault("fragments", options.Fragments);
        options.FragmentRows = sizes.GetValueOrDefault("fragrows", options.FragmentRows);
        options.CommitRows = sizes.GetValueOrDefault("commit", options.CommitRows);
        options.NetRows = sizes.GetValueOrDefault("net", options.NetRows);
        if (options.Reps < 1 || options.Rows < 100 || options.LogTableRows > options.LogRows)
        {
            throw new ArgumentException("--reps must be ≥ 1, --rows ≥ 100, --log-table-rows ≤ --log-rows.");
        }

        return options;
    }

    public static void PrintHelp() => Console.WriteLine(
        """
        Engine benchmarks against baselines measured in the same run (two throw-away PostgreSQL servers, durable settings).

          dotnet run -c Release --project bench -- [options]

          --smoke               every measure with tiny sizes, 1 rep (keeps the harness from rotting)
          --only P1,P4          measures to run (P1…P12; P8 is not automated and only prints a note)
          --reps N              repetitions per figure, median reported (default 3)
          --rows N              P2, P12 bulk load / P4-P5 object / P6, P10 base table rows (default 1000000)
          --clients N           P1, P12 concurrent pgbench clients (default 8)
          --p1-tx N             P1, P12 transactions per client per run (default 1000)
          --log-rows N          P3 rows in the whole log (default 5000000)
          --log-table-rows N    P3 logged rows of the measured table (default 1000000)
          --fragments N         P6, P10 fragments (default 10)
          --fragment-rows N     P6 rows per fragment (default 100000)
          --commit-rows N       P7 pending changes committed (default 100000)
          --net-rows N          P11 pending changes of the paged net view (default 330000)
          --pg-bin DIR          PostgreSQL binaries (default: PG_BIN, pg_config --bindir, PATH, newest /usr/lib/postgresql/*/bin)
        """);
}
