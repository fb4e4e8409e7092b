using System.Globalization;
using LstmSharp.Bench;

// LstmSharp benchmarks. `compare [--json FILE] [--quick] [--seconds S]`: ours against PyTorch (and ONNX Runtime),
// side by side in one run, with this CPU's peak FMA rate.
if (args.Length > 0 && args[0] == "peak")
{
    Console.WriteLine($"{PeakFma.Measure(1):F1} GFLOP/s on 1 thread, {PeakFma.Measure(Environment.ProcessorCount):F1} on {Environment.ProcessorCount}");
    return 0;
}
if (args.Length > 0 && args[0] == "compare")
{
    string? json = null;
    bool quick = false, stepOnly = false;
    double seconds = 3;
    for (int i = 1; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--json" when i + 1 < args.Length: json = args[++i]; break;
            case "--quick": quick = true; break;
            case "--step-only": stepOnly = true; break;
            case "--seconds" when i + 1 < args.Length: seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
            default:
                Console.Error.WriteLine($"compare: unknown option '{args[i]}'. Options: --json FILE, --quick, --seconds S.");
                return 2;
        }
    }
    return Compare.Run(json, quick, seconds, stepOnly);
}
Console.WriteLine("Usage: dotnet run -c Release --project bench/LstmSharp.Bench -- compare [--json FILE] [--quick] [--seconds S]");
return args.Length == 0 ? 0 : 2;
