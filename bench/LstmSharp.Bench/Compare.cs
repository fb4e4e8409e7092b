using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Bench;

/// <summary>
/// <c>compare</c>: LstmSharp against its peers on the issue's grid, measured in one run with the contenders
/// interleaved (ours, peer, ours, peer, ...), medians with min and max, GFLOP/s and % of this CPU's peak FMA.
/// </summary>
internal static class Compare
{
    public static readonly Request[] Grid =
    [
        new("", 1, 100, 32, 128, 1, 1), new("", 16, 50, 32, 64, 1, 1), new("", 32, 100, 64, 256, 1, 1),
        new("", 32, 100, 64, 256, 2, 1), new("", 32, 100, 64, 256, 1, 2), new("", 64, 128, 128, 512, 1, 1),
    ];

    public static int Run(string? jsonPath, bool quick, double secondsPerContender, string? only = null)
    {
        var machine = Machine();
        Console.WriteLine($"Machine: {machine["cpu"]}, {machine["cores"]} cores, {machine["os"]}, .NET {machine["dotnet"]}, {machine["date"]}");
        var peak = new Peak();
        peak.Sample();
        Console.WriteLine($"Peak FP32 FMA (managed, 12 accumulators): {peak.One:F0} GFLOP/s on 1 thread, {peak.All:F0} on {Environment.ProcessorCount} " +
            "(measured again after every row; each % of peak is of the highest so far, and the summary at the end is of the run's highest).");
        using var torch = TorchPeer.TryStart(out string why);
        Console.WriteLine(torch is null ? $"PyTorch: skipped ({why})."
            : $"PyTorch {torch.Version}: {torch.Blas}, best of 1 and 2 threads (PyTorch's and OpenBLAS's pools both), glibc malloc keeping freed memory for the timings.");
        machine["pytorch"] = torch is null ? $"skipped: {why}" : $"{torch.Version}, {torch.Blas}";
        Console.WriteLine($"ONNX Runtime {OrtPeer.Version} (C# API, in-process, model from LstmSharp's exporter): ORT_ENABLE_ALL, 1 inter-op thread, best of 1 and 2 intra-op threads.");
        var rows = new List<Dictionary<string, object?>>();
        var grid = quick ? Grid.Take(3).ToArray() : Grid;
        foreach (var mode in new[] { "inference", "training", "step" }.Where(m => only is null || only == m))
        {
            Console.WriteLine();
            Console.WriteLine($"## {mode}");
            Console.WriteLine("| B,T,I,H,L,D | ours ms (min–max) | peer | peer ms (min–max) | ratio peer/ours | GFLOP/s | % peak |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            var configs = mode == "step" ? [new Request("step", 1, 1, 32, 128, 1, 1)] : grid.Select(g => g with { Mode = mode }).ToArray();
            foreach (var r in configs)
            {
                var ours = new List<double>();
                var peers = new Dictionary<string, Dictionary<int, List<double>>>();  // family → threads → times
                using var bench = new OursBench(r);
                int inner = mode == "step" ? 1000 : 1;
                double once = bench.Time(inner);                         // warm-up (JIT tiers) and a first estimate
                for (var warm = Stopwatch.StartNew(); warm.ElapsedMilliseconds < 500;) once = bench.Time(inner);
                // Up to 31 runs each, in five interleaved rounds: on this shared host a median of 11 could still land
                // on a busy spell (one row's median came out twice its minimum), and a burst of a few seconds should
                // fall on short blocks of every contender rather than on one contender's whole third.
                int reps = Math.Clamp((int)(secondsPerContender * 1000 / Math.Max(once, 1e-3)), 3, 31);
                int rounds = Math.Min(reps, 5);
                var orts = mode == "inference" ? new[] { 1, 2 }.ToDictionary(t => t, t => new OrtPeer(bench.Lstm, bench.Input, t)) : [];
                foreach (var ort in orts.Values) for (int k = 0; k < 3; k++) ort.Time();   // ORT's warm-up
                void Add(string family, int threads, IEnumerable<double> times)
                {
                    if (!peers.TryGetValue(family, out var byThreads)) peers[family] = byThreads = [];
                    if (!byThreads.TryGetValue(threads, out var list)) byThreads[threads] = list = [];
                    list.AddRange(times);
                }
                for (int round = 0; round < rounds; round++)
                {
                    // Each contender's block starts with one run not counted, as the PyTorch peer warms up each request
                    // (three runs): on this virtual machine the first run after another process's block is up to 1.5x
                    // slower (caches refilled, the vCPU back from idle).
                    int n = reps / rounds + (round < reps % rounds ? 1 : 0);
                    bench.Time(inner);
                    for (int k = 0; k < n; k++) ours.Add(bench.Time(inner));
                    foreach (var (threads, ort) in orts)
                    {
                        Quiet();
                        ort.Time();
                        Add("onnxruntime", threads, Enumerable.Range(0, n).Select(_ => ort.Time()).ToArray());
                    }
                    if (torch is not null)
                        foreach (int threads in new[] { 1, 2 })
                        {
                            Quiet();
                            var t = torch.Time(r, n, threads, inner);
                            if (t is not null) Add("pytorch", threads, t.Value.Times);
                        }
                    Quiet();
                }
                foreach (var ort in orts.Values) ort.Dispose();
                peak.Sample();
                // Ours may use every core: the percentage is of the whole machine's peak; the step runs on one thread.
                double basis = mode == "step" ? peak.One : peak.All;
                double flops = Flops(r);
                var (med, min, max) = Stats(ours);
                double gflops = flops / (med * 1e6);
                string cfg = $"{r.B},{r.T},{r.I},{r.H},{r.L},{r.D}";
                var families = peers.Count == 0 ? new[] { ("pytorch (skipped)", (double.NaN, double.NaN, double.NaN)) }
                    : peers.Select(f =>
                    {
                        var best = f.Value.Select(p => (Threads: p.Key, Stats: Stats(p.Value))).MinBy(p => p.Stats.Item1);
                        return ($"{f.Key} {best.Threads}t", best.Stats);
                    }).ToArray();
                foreach (var (peerName, peerStats) in families)
                {
                    double ratio = peerStats.Item1 / med;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {cfg} | {Ms(med)} ({Ms(min)}–{Ms(max)}) | {peerName} | {Ms(peerStats.Item1)} ({Ms(peerStats.Item2)}–{Ms(peerStats.Item3)}) | {ratio:F2}× | {gflops:F1} | {100 * gflops / basis:F1}% |"));
                    rows.Add(new()
                    {
                        ["mode"] = mode, ["B"] = r.B, ["T"] = r.T, ["I"] = r.I, ["H"] = r.H, ["L"] = r.L, ["D"] = r.D,
                        ["ours_ms"] = med, ["ours_min_ms"] = min, ["ours_max_ms"] = max,
                        ["peer"] = peerName, ["peer_ms"] = double.IsNaN(peerStats.Item1) ? null : peerStats.Item1,
                        ["ratio"] = double.IsNaN(ratio) ? null : ratio, ["gflops"] = gflops, ["pct_peak"] = 100 * gflops / basis,
                        ["peak_basis"] = mode == "step" ? "one core" : "all cores",
                    });
                }
            }
        }
        if (only is null or "sgemm") Sgemm(torch, grid, peak, rows, secondsPerContender);
        if (only is null or "memory") Memory(torch, grid, rows);
        RecomputePercentages(peak, rows);  // for the JSON and the summary
        if (jsonPath is not null)
        {
            var doc = new Dictionary<string, object?>
            {
                ["machine"] = machine, ["peak_gflops"] = peak.All, ["peak_gflops_1t"] = peak.One, ["peak_samples"] = peak.Samples,
                ["tables"] = only ?? "all", ["rows"] = rows,
            };
            // A failed measurement is NaN (a memory child that could not run): written as "NaN", not an exception that loses the run.
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(doc, new JsonSerializerOptions
            {
                WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
            }));
            Console.WriteLine($"\nWrote {jsonPath}.");
        }
        PeakSummary(peak, rows);
        return 0;
    }

    /// <summary>Every timed row's % of peak against the run's highest peak (a row's own % used the highest so far).</summary>
    private static void RecomputePercentages(Peak peak, List<Dictionary<string, object?>> rows)
    {
        foreach (var row in rows.Where(r => r.GetValueOrDefault("gflops") is double))
        {
            double basis = (string?)row.GetValueOrDefault("peak_basis") == "one core" ? peak.One : peak.All;
            row["pct_peak"] = 100 * (double)row["gflops"]! / basis;
        }
    }

    /// <summary>
    /// This CPU's peak FMA rate, measured again between rows: the highest of its samples is the basis of every
    /// percentage, since a sample taken while another process ran comes out low and would flatter every % of peak.
    /// </summary>
    private sealed class Peak
    {
        public double One { get; private set; }

        public double All { get; private set; }

        public int Samples { get; private set; }

        /// <summary>Samples whose all-core rate was under 1.8 times the one-core rate: something else was running.</summary>
        public int Contended { get; private set; }

        public void Sample()
        {
            double one = PeakFma.Measure(1), all = PeakFma.Measure(Environment.ProcessorCount);
            One = Math.Max(One, one);
            All = Math.Max(All, all);
            Samples++;
            if (Environment.ProcessorCount > 1 && all < 1.8 * one) Contended++;
        }
    }

    /// <summary>Prints the run's highest peak and every row's % of it (recomputed by <see cref="RecomputePercentages"/>; a row's own table used the highest so far).</summary>
    private static void PeakSummary(Peak peak, List<Dictionary<string, object?>> rows)
    {
        Console.WriteLine();
        string contended = peak.Contended > 0 ? $" ({peak.Contended} sample(s) had the all-core rate under 1.8x the one-core: another process was running then)" : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"## peak: the highest of {peak.Samples} samples, {peak.One:F1} GFLOP/s on 1 thread and {peak.All:F1} on {Environment.ProcessorCount}{contended}"));
        var timed = rows.Where(r => r.GetValueOrDefault("gflops") is double).ToList();  // not the memory rows
        Console.WriteLine("| mode | config | GFLOP/s | % of the run's peak |");
        Console.WriteLine("|---|---|---|---|");
        // An inference row appears once per peer; the sgemm rows have M, N, K and no B, T, ...
        string Config(Dictionary<string, object?> row, params string[] keys) => string.Join(",", keys.Select(k => row.GetValueOrDefault(k)));
        foreach (var row in timed.DistinctBy(r => (r["mode"], Config(r, "B", "T", "I", "H", "L", "D", "M", "N", "K"))))
        {
            string config = (string)row["mode"]! == "sgemm" ? Config(row, "M", "N", "K") : Config(row, "B", "T", "I", "H", "L", "D");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {row["mode"]} | {config} | {(double)row["gflops"]!:F1} | {(double)row["pct_peak"]!:F1}% |"));
        }
    }

    /// <summary>
    /// The <c>sgemm</c> table: C [M, N] = A [M, K] · B [K, N] in float on one thread (ours through Gemm.Multiply, the
    /// peer torch.mm on the OpenBLAS kernels <see cref="TorchPeer.TryStart"/> found fastest), interleaved, as a percentage of one core's peak FMA rate. Squares
    /// of 512 and up, and the products of the grid's LSTMs: M = B, N = 4H, K = I or H.
    /// </summary>
    private static void Sgemm(TorchPeer? torch, Request[] grid, Peak peak, List<Dictionary<string, object?>> rows, double secondsPerContender)
    {
        Console.WriteLine();
        Console.WriteLine("## sgemm (1 thread, % of one core's peak)");
        if (torch is not null && torch.Time(new Request("sgemm", 0, 0, 0, 0, 0, 0) { M = 1, N = 1, K = 1 }, 5, 1, 10000) is { } call)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"(The peer is torch.mm on OpenBLAS, called from Python: a 1×1×1 product takes {Stats([.. call.Times]).Median * 1000:F2} µs, a cost in each of its times that OpenBLAS itself does not have.)"));
        Console.WriteLine("| M,N,K | ours ms (min–max) | peer | peer ms (min–max) | ratio peer/ours | GFLOP/s | % peak |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        var shapes = new List<(int M, int N, int K)> { (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048) };
        foreach (var g in grid)
        {
            foreach (int k in new[] { g.I, g.H })
                if (!shapes.Contains((g.B, 4 * g.H, k))) shapes.Add((g.B, 4 * g.H, k));
        }
        bool wasEnabled = Kernels.Worker.Enabled;
        Kernels.Worker.Enabled = false;
        try
        {
            foreach (var (m, n, k) in shapes)
            {
                var rng = new Rng(7);
                var a = new float[m * k]; var b = new float[k * n]; var c = new float[m * n];
                rng.FillUniform(-1f, 1f, a);
                rng.FillUniform(-1f, 1f, b);
                double flops = 2.0 * m * n * k;
                void Once() => Kernels.Gemm.Multiply<float>(Kernels.Gemm.Best, false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
                for (var warm = Stopwatch.StartNew(); warm.ElapsedMilliseconds < 200;) Once();
                int inner = (int)Math.Clamp(2e-3 * peak.One * 1e9 / flops, 1, 10000);  // about 2 ms a sample at peak
                double Sample()
                {
                    var clock = Stopwatch.StartNew();
                    for (int i = 0; i < inner; i++) Once();
                    return clock.Elapsed.TotalMilliseconds / inner;
                }
                int reps = Math.Clamp((int)(secondsPerContender * 1000 / Math.Max(Sample() * inner, 1e-3)), 5, 21);
                var ours = new List<double>();
                var peer = new List<double>();
                for (int round = 0; round < 3; round++)
                {
                    Sample();  // not counted: the first sample after the peer's block (see Run)
                    for (int i = 0; i < reps / 3 + 1; i++) ours.Add(Sample());
                    if (torch is null) continue;
                    Quiet();
                    var t = torch.Time(new Request("sgemm", 0, 0, 0, 0, 0, 0) { M = m, N = n, K = k }, reps / 3 + 1, 1, inner);
                    if (t is not null) peer.AddRange(t.Value.Times);
                    Quiet();
                }
                peak.Sample();
                var (med, min, max) = Stats(ours);
                var (pMed, pMin, pMax) = peer.Count > 0 ? Stats(peer) : (double.NaN, double.NaN, double.NaN);
                double gflops = flops / (med * 1e6), ratio = pMed / med;
                string peerName = peer.Count > 0 ? "torch.mm 1t" : "pytorch (skipped)";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {m},{n},{k} | {Ms(med)} ({Ms(min)}–{Ms(max)}) | {peerName} | {Ms(pMed)} ({Ms(pMin)}–{Ms(pMax)}) | {ratio:F2}× | {gflops:F1} | {100 * gflops / peak.One:F1}% |"));
                rows.Add(new()
                {
                    ["mode"] = "sgemm", ["M"] = m, ["N"] = n, ["K"] = k, ["threads"] = 1,
                    ["ours_ms"] = med, ["ours_min_ms"] = min, ["ours_max_ms"] = max,
                    ["peer"] = peerName, ["peer_ms"] = peer.Count > 0 ? pMed : null, ["ratio"] = peer.Count > 0 ? ratio : null,
                    ["gflops"] = gflops, ["pct_peak"] = 100 * gflops / peak.One, ["peak_basis"] = "one core",
                });
            }
        }
        finally
        {
            Kernels.Worker.Enabled = wasEnabled;
        }
    }

    /// <summary>
    /// The <c>memory</c> table: the peak resident memory that a few training steps add to a process, from before the
    /// first step of a new model (after a tiny model's steps have loaded the code), in a fresh process each: ours through
    /// <c>bench memory</c>, PyTorch's in its peer process. Gradients exist before the baseline on both sides.
    /// </summary>
    private static void Memory(TorchPeer? torch, Request[] grid, List<Dictionary<string, object?>> rows)
    {
        const int steps = 3;
        Console.WriteLine();
        Console.WriteLine($"## memory (peak resident MB added by {steps} training steps; ours with its default threads)");
        Console.WriteLine("| B,T,I,H,L,D | ours MB | peer | peer MB | ratio peer/ours |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var g in grid)
        {
            var r = g with { Mode = "training" };
            double ours = ChildPeakMemoryMb(r, steps);
            double? peer = torch?.PeakMemoryMb(r, steps);
            string cfg = $"{r.B},{r.T},{r.I},{r.H},{r.L},{r.D}";
            string peerName = peer is null ? "pytorch (skipped)" : "pytorch 1t";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {cfg} | {ours:F1} | {peerName} | {(peer is null ? "—" : peer.Value.ToString("F1", CultureInfo.InvariantCulture))} | {(peer is null ? "—" : (peer.Value / ours).ToString("F2", CultureInfo.InvariantCulture) + "×")} |"));
            rows.Add(new()
            {
                ["mode"] = "memory", ["B"] = r.B, ["T"] = r.T, ["I"] = r.I, ["H"] = r.H, ["L"] = r.L, ["D"] = r.D,
                ["ours_mb"] = ours, ["peer"] = peerName, ["peer_mb"] = peer, ["ratio"] = peer / ours,
            });
        }
    }

    /// <summary>Runs <c>bench memory</c> in a child process (a fresh heap) and returns what it measured.</summary>
    private static double ChildPeakMemoryMb(Request r, int steps)
    {
        string self = Environment.ProcessPath ?? "dotnet";
        var args = new List<string>();
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") args.Add(typeof(Compare).Assembly.Location);
        args.AddRange(["memory", $"{r.B}", $"{r.T}", $"{r.I}", $"{r.H}", $"{r.L}", $"{r.D}", $"{steps}"]);
        var info = new ProcessStartInfo(self, args) { RedirectStandardOutput = true, UseShellExecute = false };
        using var child = Process.Start(info);
        if (child is null) return double.NaN;
        string output = child.StandardOutput.ReadToEnd().Trim();
        child.WaitForExit();
        // NaN (shown as such) where the child failed, e.g. without a writable /proc/self/clear_refs.
        return child.ExitCode == 0 && double.TryParse(output.Split('\n')[^1], CultureInfo.InvariantCulture, out double mb) ? mb : double.NaN;
    }

    /// <summary>
    /// Peak resident MB that <paramref name="steps"/> training steps (ZeroGrad, Forward, Backward of an all-ones output
    /// gradient) add to this process, from before the first step of a new model: Linux's VmHWM, reset through
    /// /proc/self/clear_refs after the model, its input and output gradient are made and a tiny model (same B, L, D) has
    /// run 200 steps, so that the JIT compiler's memory is not counted.
    /// </summary>
    public static double PeakMemoryMb(Request r, int steps)
    {
        // The code first: a tiny model with the same B, L and D runs until tiered compilation has settled.
        using (var warm = new OursBench(r with { T = 3, I = 4, H = 5 }))
            for (int i = 0; i < 200; i++) warm.Time(1);
        using var bench = new OursBench(r);
        bench.Lstm.ZeroGrad();  // the gradients' memory touched before the baseline, as the peer's are
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        File.WriteAllText("/proc/self/clear_refs", "5");
        long baseline = StatusKb("VmRSS");
        for (int i = 0; i < steps; i++) bench.Time(1);
        return (StatusKb("VmHWM") - baseline) / 1024.0;
    }

    private static long StatusKb(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(key.Length + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"/proc/self/status has no {key}");
    }

    /// <summary>A pause between contenders, so that one's spinning thread pool (OpenMP, ONNX Runtime) has gone idle before the next runs.</summary>
    private static void Quiet() => Thread.Sleep(150);

    /// <summary>Matmul flops: forward = 2·T·B·4H·(I_layer + H)·D over layers; training = 3× forward; a step = 2·4H·(I + H).</summary>
    public static double Flops(Request r)
    {
        double forward = 0;
        for (int l = 0; l < r.L; l++)
        {
            int input = l == 0 ? r.I : r.D * r.H;
            forward += 2.0 * r.T * r.B * 4 * r.H * (input + r.H) * r.D;
        }
        return r.Mode == "training" ? 3 * forward : forward;
    }

    private static (double Median, double Min, double Max) Stats(List<double> xs)
    {
        var s = xs.Order().ToArray();
        double median = s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        return (median, s[0], s[^1]);
    }

    private static string Ms(double ms) => double.IsNaN(ms) ? "—" : ms < 0.1 ? ms.ToString("F4", CultureInfo.InvariantCulture) : ms.ToString("F2", CultureInfo.InvariantCulture);

    private static Dictionary<string, object?> Machine()
    {
        string cpu = "unknown";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }
        return new()
        {
            ["cpu"] = cpu, ["cores"] = Environment.ProcessorCount, ["os"] = RuntimeInformation.OSDescription,
            ["dotnet"] = Environment.Version.ToString(), ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["avx512"] = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated,
        };
    }

    /// <summary>Our side of one configuration, through the public API.</summary>
    private sealed class OursBench : IDisposable
    {
        private readonly Request _r;
        private readonly Lstm<float> _lstm;
        private readonly Tensor<float> _x;       // [T, B, I]

        public Lstm<float> Lstm => _lstm;

        public Tensor<float> Input => _x;
        private readonly Tensor<float> _dY;      // [T, B, D·H]
        private readonly Tensor<float> _y;       // [T, B, D·H] the output of inference, written call after call
        private readonly LstmStreamer<float>? _stream;

        public OursBench(Request r)
        {
            _r = r;
            _lstm = new Lstm<float>(new LstmOptions { InputSize = r.I, HiddenSize = r.H, NumLayers = r.L, Bidirectional = r.D == 2 }, seed: 1);
            _x = Tensor<float>.Zeros(r.T, r.B, r.I);
            new Rng(2).FillNormal<float>(_x.Data);
            _dY = Tensor<float>.Full(1f, r.T, r.B, r.D * r.H);
            _y = r.Mode == "inference" ? Tensor<float>.Zeros(r.T, r.B, r.D * r.H) : Tensor<float>.Zeros(0);
            if (r.Mode == "step") _stream = new LstmStreamer<float>(_lstm);
            _lstm.Training = r.Mode == "training";
        }

        /// <summary>Milliseconds of one run (the mean of <paramref name="inner"/> for steps).</summary>
        public double Time(int inner)
        {
            var clock = Stopwatch.StartNew();
            switch (_r.Mode)
            {
                case "inference":
                    _lstm.Infer(_x, output: _y);
                    break;
                case "training":
                    _lstm.ZeroGrad();
                    var result = _lstm.Forward(_x);
                    _lstm.Backward(result.Cache, _dY);
                    break;
                default:
                    var x = _x.Data.AsSpan(0, _r.I);
                    for (int k = 0; k < inner; k++) _stream!.Step(x);
                    break;
            }
            return clock.Elapsed.TotalMilliseconds / inner;
        }

        public void Dispose()
        {
        }
    }
}
