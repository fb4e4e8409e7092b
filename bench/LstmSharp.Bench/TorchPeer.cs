using System.Diagnostics;
using System.Text.Json;

namespace LstmSharp.Bench;

/// <summary>
/// PyTorch as a peer: a long-lived <c>peers/torch_lstm.py</c> process answering timing requests, started with
/// OpenBLAS free to pick its AVX-512 kernels (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset) and one BLAS thread.
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

    /// <summary>Starts the peer, or returns null with the reason when python3 with torch is not available.</summary>
    public static TorchPeer? TryStart(out string why)
    {
        foreach (var python in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                var process = Process.Start(StartInfo(python));
                if (process is null) continue;
                var peer = new TorchPeer(process, "", python);
                var probe = peer.Time(new Request("step", 1, 1, 8, 8, 1, 1), reps: 1, threads: 1, inner: 1);
                if (probe is null)
                {
                    string err = process.StandardError.ReadToEnd();
                    process.Kill();
                    why = $"{python}: {err.Split('\n').LastOrDefault(l => l.Length > 0) ?? "no torch"}";
                    continue;
                }
                why = "";
                return new TorchPeer(process, probe.Value.Version, python);
            }
            catch (System.ComponentModel.Win32Exception)
            {
            }
        }
        why = "python3 with torch not found (Debian: apt-get install python3-torch libopenblas0-pthread)";
        return null;
    }

    /// <summary>The peer script under <paramref name="python"/>, with OpenBLAS free to pick its AVX-512 kernels, one BLAS thread.</summary>
    private static ProcessStartInfo StartInfo(string python)
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
        info.Environment.Remove("OPENBLAS_L2_SIZE");
        info.Environment["OPENBLAS_NUM_THREADS"] = "1";
        info.Environment["OMP_NUM_THREADS"] = "1";
        info.Environment["OMP_WAIT_POLICY"] = "PASSIVE"; // idle threads sleep instead of spinning against the other contenders
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
        using var process = Process.Start(StartInfo(_python));
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
