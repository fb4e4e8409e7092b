using System.Diagnostics;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;

// Timing harness. `gemm [variant] [threads]`: GFLOP/s of square and LSTM-shaped products.
// `lstm [kernel]`: forward and training step (forward + backward) of the LSTM on a grid of shapes.
string mode = args.Length > 0 ? args[0] : "lstm";
switch (mode)
{
    case "gemm": GemmBench(args.Skip(1).ToArray()); break;
    case "lstm": LstmBench(args.Skip(1).ToArray()); break;
    case "probe": Probe.Run(); break;
    default: Console.Error.WriteLine("usage: bench gemm [avx512|avx2|vector128] [1|2] | lstm [reference|fast] [1|2]"); return 1;
}
return 0;

static double Median(Action run, int reps, int warmup = 2)
{
    for (int i = 0; i < warmup; i++) run();
    var times = new double[reps];
    for (int i = 0; i < reps; i++)
    {
        long start = Stopwatch.GetTimestamp();
        run();
        times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
    Array.Sort(times);
    return times[reps / 2];
}

static void GemmBench(string[] args)
{
    var variant = args.Length > 0 ? Enum.Parse<GemmVariant>(args[0], ignoreCase: true) : Gemm.Best;
    Worker.Enabled = args.Length > 1 ? args[1] == "2" : Worker.Enabled;
    Console.WriteLine($"GEMM {variant}, {(Worker.Enabled ? 2 : 1)} thread(s), float unless noted");
    var shapes = new (string Name, int M, int N, int K, bool TA, bool TB)[]
    {
        ("square 512", 512, 512, 512, false, false),
        ("square 1024", 1024, 1024, 1024, false, false),
        ("square 1024 A^T B^T", 1024, 1024, 1024, true, true),
        ("x W_ih^T  (T·B=3200, I=64 → 4H=1024)", 3200, 1024, 64, false, true),
        ("h W_hh^T  (B=32, P=256 → 4H=1024)", 32, 1024, 256, false, true),
        ("h W_hh^T  (B=64, P=512 → 4H=2048)", 64, 2048, 512, false, true),
        ("h W_hh^T  (B=1, P=128 → 4H=512)", 1, 512, 128, false, true),
        ("dG^T x    (4H=1024 ← T·B=3200, I=64)", 1024, 64, 3200, true, false),
        ("dG^T h    (4H=1024 ← T·B=3200, P=256)", 1024, 256, 3200, true, false),
        ("dG W_ih   (T·B=3200, 4H=1024 → I=64)", 3200, 64, 1024, false, false),
        ("dG W_hh   (B=32, 4H=1024 → P=256)", 32, 256, 1024, false, false),
    };
    var rng = new Rng(1);
    foreach (var (name, m, n, k, ta, tb) in shapes)
    {
        var a = new float[m * k]; var b = new float[k * n]; var c = new float[m * n];
        rng.FillUniform(-1f, 1f, a); rng.FillUniform(-1f, 1f, b);
        double flops = 2.0 * m * n * k;
        int inner = Math.Max(1, (int)(2e8 / flops));
        double ms = Median(() =>
        {
            for (int i = 0; i < inner; i++)
                Gemm.Multiply<float>(variant, ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 0f, c, n);
        }, 7) / inner;
        Console.WriteLine($"  {name,-42} {m,5}×{n,5}×{k,5}  {ms,9:F4} ms  {flops / ms / 1e6,7:F1} GFLOP/s");
    }
    {
        int m = 1024, n = 1024, k = 1024;
        var a = new double[m * k]; var b = new double[k * n]; var c = new double[m * n];
        rng.FillUniform(-1.0, 1.0, a); rng.FillUniform(-1.0, 1.0, b);
        double ms = Median(() => Gemm.Multiply<double>(variant, false, false, m, n, k, 1.0, a, k, b, n, 0.0, c, n), 5);
        Console.WriteLine($"  {"square 1024 (double)",-42} {m,5}×{n,5}×{k,5}  {ms,9:F4} ms  {2.0 * m * n * k / ms / 1e6,7:F1} GFLOP/s");
    }
}

static void LstmBench(string[] args)
{
    Console.WriteLine("LSTM benchmark: not implemented yet");
}

static class Probe
{
    public static void Run()
    {
        foreach (var (m, n, k) in new[] { (12, 32, 256), (12, 32, 128), (120, 32, 256), (12, 512, 256), (120, 512, 256), (240, 1024, 256) })
        {
            var a = new float[m * k]; var b = new float[k * n]; var c = new float[m * n];
            var p = Gemm.Pack<float>(GemmVariant.Avx512, false, k, n, b, n);
            double flops = 2.0 * m * n * k;
            int inner = Math.Max(1, (int)(2e8 / flops));
            var sw = Stopwatch.StartNew();
            double best = double.MaxValue;
            for (int r = 0; r < 7; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < inner; i++) Gemm.Multiply<float>(false, m, 1f, a, k, p, 1f, c, n);
                best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalMilliseconds / inner);
            }
            Console.WriteLine($"prepacked {m}×{n}×{k}: {flops / best / 1e6:F1} GFLOP/s (best)");
        }
    }
}
