using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;

namespace LstmSharp.Bench;

/// <summary>
/// PyTorch as a peer: a long-lived <c>peers/torch_lstm.py</c> process answering timing requests, started with one BLAS
/// thread (a request for k threads sets both PyTorch's and OpenBLAS's to k), OPENBLAS_L2_SIZE unset, the OPENBLAS_CORETYPE
/// (or none) under which its SGEMM ran fastest here, and glibc's malloc keeping freed memory (see <see cref="StartInfo"/>).
/// </summary>
internal sealed class TorchPeer : IDisposable
{
    private readonly Process _process;

    private readonly string _python;

    private TorchPeer(Process process, string version, string python)
    {
        _process = process;
        Version = version;
        _python = python;
    }

    public string Version { get; }

    /// <summary>
    /// Which BLAS the peer runs on and how it was chosen, e.g. "OpenBLAS SkylakeX kernels (OPENBLAS_CORETYPE=SkylakeX,
    /// the fastest SGEMM 512 of: unset → Prescott 32, SkylakeX → SkylakeX 150, Haswell → Haswell 80 GFLOP/s)".
    /// </summary>
    public string Blas { get; private init; } = "";

    /// <summary>The OPENBLAS_CORETYPE the peer runs under; null for unset (OpenBLAS's own detection).</summary>
    private string? CoreType { get; init; }

    /// <summary>
    /// Starts the peer, or returns null with the reason when python3 with torch is not available. OpenBLAS's own
    /// detection does not know every CPU (0.3.21 runs an Emerald Rapids Xeon on its SSE3 "Prescott" kernels), so the
    /// peer is started under each OPENBLAS_CORETYPE this CPU can run (and unset), and the fastest SGEMM 512 is kept.
    /// </summary>
    public static TorchPeer? TryStart(out string why)
    {
        why = "python3 with torch not found (Debian: apt-get install python3-torch libopenblas0-pthread)";
        foreach (var python in new[] { "/usr/bin/python3", "python3" })
        {
            TorchPeer? best = null;
            double bestRate = 0;
            var tried = new List<string>();
            foreach (var coreType in CoreTypes())
            {
                Process? process;
                try
                {
                    process = Process.Start(StartInfo(python, coreType));
                }
                catch (System.ComponentModel.Win32Exception)
                {
                    break;
                }
                if (process is null) break;
                var peer = new TorchPeer(process, "", python) { CoreType = coreType };
                var sgemm = new Request("sgemm", 0, 0, 0, 0, 0, 0) { M = 512, N = 512, K = 512 };
                (double[] Times, string Version)? probe;
                string? blas;
                try
                {
                    probe = peer.Time(sgemm, reps: 5, threads: 1, inner: 2);
                    blas = probe is null ? null : peer.Query("blas");
                }
                catch
                {
                    // A peer that answers garbage (or dies mid-write) takes the others down with it: no process left over.
                    peer.Dispose();
                    best?.Dispose();
                    throw;
                }
                if (probe is null || blas is null)
                {
                    string err = process.StandardError.ReadToEnd();
                    peer.Dispose();
                    why = $"{python}: {err.Split('\n').LastOrDefault(l => l.Length > 0) ?? "no torch"}";
                    break;
                }
                double rate = 2.0 * 512 * 512 * 512 / (Median(probe.Value.Times) * 1e-3) / 1e9;
                tried.Add($"{coreType ?? "unset"} → {blas.Replace("OpenBLAS ", "", StringComparison.Ordinal)} {rate:F0}");
                if (rate > bestRate)
                {
                    best?.Dispose();
                    best = new TorchPeer(process, probe.Value.Version, python) { CoreType = coreType, Blas = blas };
                    bestRate = rate;
                }
                else
                {
                    peer.Dispose();
                }
            }
            if (best is null) continue;
            string choice = best.CoreType is null ? "OPENBLAS_CORETYPE unset" : $"OPENBLAS_CORETYPE={best.CoreType}";
            string kernels = best.Blas.StartsWith("OpenBLAS ", StringComparison.Ordinal) ? $"{best.Blas} kernels"
                : best.Blas.StartsWith("reference BLAS", StringComparison.Ordinal)
                    ? $"{best.Blas}: PyTorch is far from its best (Debian: apt-get install libopenblas0-pthread)"
                    : best.Blas;
            why = "";
            return new TorchPeer(best._process, best.Version, python)
            {
                CoreType = best.CoreType,
                Blas = tried.Count > 1 ? $"{kernels} ({choice}, the fastest SGEMM 512 of: {string.Join(", ", tried)} GFLOP/s)" : $"{kernels} ({choice})",
            };
        }
        return null;
    }

    /// <summary>The OPENBLAS_CORETYPE values to try on this CPU: unset (OpenBLAS's own detection) first.</summary>
    private static IEnumerable<string?> CoreTypes()
    {
        yield return null;
        if (Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported) yield return "SkylakeX";
        if (Avx2.IsSupported && Fma.IsSupported) yield return "Haswell";
    }

    private static double Median(double[] times)
    {
        var sorted = times.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>The answer to a request <c>{"mode": <paramref name="mode"/>}</c>: its string field of that name.</summary>
    private string? Query(string mode)
    {
        _process.StandardInput.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["mode"] = mode }));
        _process.StandardInput.Flush();
        var line = _process.StandardOutput.ReadLine();
        if (line is null) return null;
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.GetProperty(mode).GetString();
    }

    /// <summary>
    /// The peer script under <paramref name="python"/> with one BLAS thread and OpenBLAS's kernels forced to
    /// <paramref name="coreType"/> (null: OPENBLAS_CORETYPE unset, OpenBLAS's own detection).
    /// </summary>
    private static ProcessStartInfo StartInfo(string python, string? coreType, bool forMemory = false)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "peers", "torch_lstm.py");
        var info = new ProcessStartInfo(python, [script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment.Remove("OPENBLAS_CORETYPE");
        if (coreType is not null) info.Environment["OPENBLAS_CORETYPE"] = coreType;
        info.Environment.Remove("OPENBLAS_L2_SIZE");
        info.Environment["OPENBLAS_NUM_THREADS"] = "1";
        info.Environment["OMP_NUM_THREADS"] = "1";
        info.Environment["OMP_WAIT_POLICY"] = "PASSIVE"; // idle threads sleep instead of spinning against the other contenders
        // For timing, glibc's malloc keeps the memory it frees (as jemalloc or tcmalloc would, PyTorch's usual advice on a
        // CPU): by default it maps every block over 32 MiB afresh and unmaps it when freed, so the LSTM's [T, B, 4H]
        // buffers were page-faulted in on every run (5-10% of a (64, 128, 128, 512) training step on this virtual
        // machine). The memory table keeps glibc's defaults: the peak a plain PyTorch process shows.
        if (!forMemory) info.Environment["GLIBC_TUNABLES"] = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295";
        return info;
    }

    /// <summary>The times of <paramref name="reps"/> runs (each the mean of <paramref name="inner"/>), or null if the peer failed.</summary>
    public (double[] Times, string Version)? Time(Request r, int reps, int threads, int inner)
    {
        var request = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["mode"] = r.Mode, ["B"] = r.B, ["T"] = r.T, ["I"] = r.I, ["H"] = r.H, ["L"] = r.L, ["D"] = r.D,
            ["reps"] = reps, ["threads"] = threads, ["inner"] = inner, ["M"] = r.M, ["N"] = r.N, ["K"] = r.K,
        });
        _process.StandardInput.WriteLine(request);
        _process.StandardInput.Flush();
        var line = _process.StandardOutput.ReadLine();
        if (line is null) return null;
        using var doc = JsonDocument.Parse(line);
        var times = doc.RootElement.GetProperty("times_ms").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        return (times, doc.RootElement.GetProperty("torch").GetString() ?? "");
    }

    /// <summary>
    /// The peak resident MB that <paramref name="steps"/> training steps add, in a fresh peer process (1 thread): a
    /// process that has run steps before keeps their freed memory and would show none. Null if the peer failed.
    /// </summary>
    public double? PeakMemoryMb(Request r, int steps)
    {
        using var process = Process.Start(StartInfo(_python, CoreType, forMemory: true));
        if (process is null) return null;
        process.StandardInput.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["mode"] = "memory", ["B"] = r.B, ["T"] = r.T, ["I"] = r.I, ["H"] = r.H, ["L"] = r.L, ["D"] = r.D,
            ["reps"] = steps, ["threads"] = 1,
        }));
        var errors = process.StandardError.ReadToEndAsync();  // drained as it comes, so a chatty child cannot block
        process.StandardInput.Close();
        var line = process.StandardOutput.ReadLine();
        process.WaitForExit();
        if (line is null)
        {
            Console.Error.WriteLine($"pytorch memory run for {r}: no result. {errors.Result.Trim()}");
            return null;
        }
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.GetProperty("peak_mb").GetDouble();
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(2000)) _process.Kill();
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}

/// <summary>One benchmark configuration.</summary>
internal readonly record struct Request(string Mode, int B, int T, int I, int H, int L, int D)
{
    /// <summary>The sizes of an <c>sgemm</c> request: C [M, N] = A [M, K] · B [K, N].</summary>
    public int M { get; init; }

    /// <inheritdoc cref="M"/>
    public int N { get; init; }

    /// <inheritdoc cref="M"/>
    public int K { get; init; }
}
