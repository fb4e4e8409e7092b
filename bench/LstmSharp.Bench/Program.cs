using System.Diagnostics;
using System.Globalization;
using LstmSharp.Bench;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;

// `compare [--json FILE] [--quick] [--seconds S] [--only inference|training|step|sgemm|memory] [--step-only]`: ours against ONNX Runtime and PyTorch, side by side
// in one run, with this CPU's peak FMA rate (`peak` alone measures that).
// Timing harness (Release build; run on an otherwise idle machine):
//   gemm   [avx512|avx2|vector128] [1|2]        GFLOP/s of square and LSTM-shaped float products, and one double
//   lstm   [fast|reference|fast-avx2|...] [1|2] [runs]
//                                               Lstm<float> Infer (into one output tensor), Forward (evaluation mode)
//                                               and training step (forward + backward) on the grid (B, T, I, H, L, D);
//                                               ONLY=B,T,I,H,L,D picks one
//   kernel [fast|...] [1|2] [runs]              one layer-direction straight through the kernel, buffers allocated once
//   memory B T I H L D steps                    peak resident MB that training steps add (compare runs it as a child)
// Times are the median (and minimum) of the runs; for lstm and kernel, DUMP=1 prints every run's time and PAUSE_MS=n
// sleeps n ms before each run (on this virtual machine a run after an idle spell is up to 1.5x slower: what compare's discarded runs avoid). Where memory new to the process is slow on first touch (some virtual
// machines), DOTNET_GCName=libclrgc.so (the segments GC) keeps the user-visible outputs from paying page faults.
const string Usage = "usage: bench compare [--json FILE] [--quick] [--seconds S] [--only inference|training|step|sgemm|memory] [--step-only] | peak | " +
    "gemm [avx512|avx2|vector128] [1|2] | lstm [fast|reference|fast-avx2|...] [1|2] [runs] | kernel [fast|...] [1|2] [runs] | memory B T I H L D steps";
string mode = args.Length > 0 ? args[0] : "lstm";
if (mode is "--help" or "-h" or "help")
{
    Console.WriteLine(Usage);
    return 0;
}
try
{
switch (mode)
{
    case "compare": return CompareMain(args);
    case "peak":
        Console.WriteLine($"{PeakFma.Measure(1):F1} GFLOP/s on 1 thread, {PeakFma.Measure(Environment.ProcessorCount):F1} on {Environment.ProcessorCount}");
        return 0;
    case "gemm": GemmBench(args.Skip(1).ToArray()); break;
    case "lstm": LstmBench(args.Skip(1).ToArray()); break;
    case "kernel": KernelBench(args.Skip(1).ToArray()); break;
    case "memory" when args.Length == 8:
        Console.WriteLine(Compare.PeakMemoryMb(new Request("training", int.Parse(args[1]), int.Parse(args[2]), int.Parse(args[3]),
            int.Parse(args[4]), int.Parse(args[5]), int.Parse(args[6])), int.Parse(args[7])).ToString(CultureInfo.InvariantCulture));
        return 0;
    default: Console.Error.WriteLine(Usage); return 1;
}
}
catch (Exception e) when (e is FormatException or OverflowException or ArgumentException or PlatformNotSupportedException)
{
    // A bad number, variant or kernel name among the arguments: one line, not a stack trace.
    Console.Error.WriteLine($"bench {mode}: {e.Message}");
    Console.Error.WriteLine(Usage);
    return 2;
}
return 0;

static int CompareMain(string[] args)
{
    string? json = null;
    bool quick = false;
    string? only = null;
    double seconds = 3;
    for (int i = 1; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--help" or "-h":
                Console.WriteLine(Usage);
                return 0;
            case "--json" or "--seconds" when i + 1 >= args.Length:
                Console.Error.WriteLine($"compare: {args[i]} expects a value; got nothing.");
                return 2;
            case "--json": json = args[++i]; break;
            case "--quick": quick = true; break;
            case "--step-only": only = "step"; break;
            case "--only" when i + 1 < args.Length && args[i + 1] is "inference" or "training" or "step" or "sgemm" or "memory": only = args[++i]; break;
            case "--only":
                Console.Error.WriteLine($"compare: --only expects one of inference, training, step, sgemm, memory; got {(i + 1 < args.Length ? $"'{args[i + 1]}'" : "nothing")}.");
                return 2;
            case "--seconds":
                if (!double.TryParse(args[++i], NumberStyles.Float, CultureInfo.InvariantCulture, out seconds) || !(seconds > 0) || !double.IsFinite(seconds))
                {
                    Console.Error.WriteLine($"compare: --seconds expects a positive number of seconds per contender, got '{args[i]}'.");
                    return 2;
                }
                break;
            default:
                Console.Error.WriteLine($"compare: unknown option '{args[i]}'. Options: --json FILE, --quick, --seconds S, --only inference|training|step|sgemm|memory, --step-only (= --only step).");
                return 2;
        }
    }
    return Compare.Run(json, quick, seconds, only);
}

static double Median(Action run, int reps, int warmup = 2)
{
    for (int i = 0; i < warmup; i++) run();
    var times = new double[reps];
    int pause = int.TryParse(Environment.GetEnvironmentVariable("PAUSE_MS"), out int ms) ? ms : 0;
    for (int i = 0; i < reps; i++)
    {
        if (pause > 0) Thread.Sleep(pause);
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
        ("h W_hh^T  (B=64, P=128 → 4H=512)", 64, 512, 128, false, true),
        ("dG W_hh   (B=64, 4H=512 → P=128)", 64, 128, 512, false, false),
        ("dG^T h    (4H=512 ← T·B=3584, P=128)", 512, 128, 3584, true, false),
        ("dG^T x    (4H=512 ← T·B=3584, I=28)", 512, 28, 3584, true, false),
        ("x W_ih^T  (T·B=3584, I=28 → 4H=512)", 3584, 512, 28, false, true),
        ("dG^T xh   (4H=512 ← T·B=3584, 157)", 512, 157, 3584, true, false),
        ("xh^T dG   (157 ← T·B=3584, 4H=512)", 157, 512, 3584, true, false),
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
    // args: [kernel name or "fast"] [threads 1|2] [runs]
    string kernelName = args.Length > 0 ? args[0] : "fast";
    var kernel = kernelName == "fast" ? LstmKernels.Best<float>() : LstmKernels.ByName<float>(kernelName);
    Worker.Enabled = args.Length > 1 ? args[1] == "2" && Environment.ProcessorCount > 1 : Worker.Enabled;
    int runs = args.Length > 2 ? int.Parse(args[2]) : 11;
    Console.WriteLine($"LSTM float32, kernel {kernel.Name}, {(Worker.Enabled ? 2 : 1)} thread(s), median (min) of {runs} runs");
    Console.WriteLine($"  {"B",3} {"T",4} {"I",4} {"H",4} {"L",2} {"D",2} {"infer ms",18} {"forward (eval) ms",20} {"training step ms",22}");
    var only = Environment.GetEnvironmentVariable("ONLY");
    var grid = only is not null ? [ParseShape(only)] : new (int B, int T, int I, int H, int L, int D)[]
    {
        (1, 100, 32, 128, 1, 1), (16, 50, 32, 64, 1, 1), (32, 100, 64, 256, 1, 1),
        (32, 100, 64, 256, 2, 1), (32, 100, 64, 256, 1, 2), (64, 128, 128, 512, 1, 1),
    };
    foreach (var (b, t, i, h, l, d) in grid)
    {
        var lstm = new Lstm<float>(new LstmOptions { InputSize = i, HiddenSize = h, NumLayers = l, Bidirectional = d == 2, BatchFirst = true }, seed: 1)
        {
            Kernel = kernel,
        };
        var x = Tensor<float>.Zeros(b, t, i);
        new Rng(2).FillUniform(-1f, 1f, x.Data);
        var dOut = Tensor<float>.Zeros(b, t, d * h);
        new Rng(3).FillUniform(-1f, 1f, dOut.Data);
        int reps = kernel.Name == "reference" && (long)b * t * h * h > 50_000_000 ? 3 : runs;
        lstm.Training = false;
        var y = Tensor<float>.Zeros(b, t, d * h);
        var (inf, infMin) = MedianMin(() => lstm.Infer(x, output: y), reps);
        var (fwd, fwdMin) = MedianMin(() => lstm.Forward(x), reps);
        lstm.Training = true;
        var (train, trainMin) = MedianMin(() =>
        {
            lstm.ZeroGrad();
            var r = lstm.Forward(x);
            lstm.Backward(r.Cache, dOut);
        }, reps);
        Console.WriteLine($"  {b,3} {t,4} {i,4} {h,4} {l,2} {d,2} {inf,9:F3} ({infMin,7:F3}) {fwd,11:F3} ({fwdMin,7:F3}) {train,12:F3} ({trainMin,7:F3})");
    }
}

static void KernelBench(string[] args)
{
    // One layer, one direction, straight through the kernel with buffers allocated once: the compute alone.
    string kernelName = args.Length > 0 ? args[0] : "fast";
    var kernel = kernelName == "fast" ? LstmKernels.Best<float>() : LstmKernels.ByName<float>(kernelName);
    Worker.Enabled = args.Length > 1 ? args[1] == "2" && Environment.ProcessorCount > 1 : Worker.Enabled;
    int runs = args.Length > 2 ? int.Parse(args[2]) : 11;
    Console.WriteLine($"kernel {kernel.Name}, {(Worker.Enabled ? 2 : 1)} thread(s), one layer-direction, median (min) of {runs} runs");
    var shapes = new[] { (1, 100, 32, 128), (16, 50, 32, 64), (32, 100, 64, 256), (64, 128, 128, 512) };
    if (Environment.GetEnvironmentVariable("ONLY") is string only)
    {
        var v = only.Split(',').Select(int.Parse).ToArray();
        shapes = [(v[0], v[1], v[2], v[3])];
    }
    foreach (var (b, t, i, h) in shapes)
    {
        var p = LstmDirectionParameters<float>.Create(i, h, 0, true, "");
        var rng = new Rng(4);
        foreach (var par in p.All()) rng.FillUniform(-0.1f, 0.1f, par.Value.Data);
        var x = new float[t * b * i];
        rng.FillUniform(-1f, 1f, x);
        var cache = new LstmDirectionCache<float>(x, new float[b * h], new float[b * h], t, b, h, h, false);
        var lengths = Enumerable.Repeat(t, b).ToArray();
        var dHs = new float[t * b * h];
        rng.FillUniform(-1f, 1f, dHs);
        var dHN = new float[b * h]; var dCN = new float[b * h]; var dX = new float[t * b * i]; var dH0 = new float[b * h]; var dC0 = new float[b * h];
        bool reverse = Environment.GetEnvironmentVariable("REVERSE") == "1";
        var (fwd, fwdMin) = MedianMin(() => kernel.Forward(p, t, b, lengths, reverse, cache), runs);
        var (bwd, bwdMin) = MedianMin(() => kernel.Backward(p, t, b, lengths, reverse, cache, dHs, dHN, dCN, dX, dH0, dC0), runs);
        Console.WriteLine($"  B={b,3} T={t,4} I={i,4} H={h,4}: forward {fwd,8:F3} ({fwdMin,8:F3}) ms, backward {bwd,8:F3} ({bwdMin,8:F3}) ms");
    }
}

static (int, int, int, int, int, int) ParseShape(string s)
{
    var v = s.Split(',').Select(int.Parse).ToArray();
    return (v[0], v[1], v[2], v[3], v[4], v[5]);
}

static (double Median, double Min) MedianMin(Action run, int reps)
{
    // Warm up: at least 3 calls, then up to 40 or half a second, so that tiered compilation has settled.
    long warmStart = Stopwatch.GetTimestamp();
    for (int i = 0; i < 40 && (i < 3 || Stopwatch.GetElapsedTime(warmStart).TotalSeconds < 0.5); i++) run();
    // A collection now lets the calls below reuse memory the process has touched before.
    GC.Collect();
    for (int i = 0; i < 3; i++) run();
    var times = new double[reps];
    int pause = int.TryParse(Environment.GetEnvironmentVariable("PAUSE_MS"), out int ms) ? ms : 0;
    for (int i = 0; i < reps; i++)
    {
        if (pause > 0) Thread.Sleep(pause);
        long start = Stopwatch.GetTimestamp();
        run();
        times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
    if (Environment.GetEnvironmentVariable("DUMP") == "1") Console.WriteLine(string.Join(" ", times.Select(t => t.ToString("F2"))));
    Array.Sort(times);
    return (times[reps / 2], times[0]);
}
