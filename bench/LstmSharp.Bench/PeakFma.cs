using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LstmSharp.Bench;

/// <summary>This CPU's peak FP32 FMA rate from managed code: 12 independent Vector512 (or Vector256) FMA chains per thread.</summary>
internal static class PeakFma
{
    /// <summary>GFLOP/s on <paramref name="threads"/> threads, the best of a few runs.</summary>
    public static double Measure(int threads)
    {
        if (!Avx512F.IsSupported && !Fma.IsSupported)
            throw new PlatformNotSupportedException("peak: this CPU has neither AVX-512 nor FMA3; the peak loop is written for x86 vectors.");
        const long iterations = 20_000_000;
        double best = 0;
        for (int run = 0; run < 5; run++)
        {
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Sink(Loop(iterations)));
            double seconds = clock.Elapsed.TotalSeconds;
            int lanes = Avx512F.IsSupported ? 16 : 8;
            best = Math.Max(best, threads * iterations * 12.0 * lanes * 2 / seconds / 1e9);
        }
        return best;
    }

    private static float Loop(long iterations) => Avx512F.IsSupported ? Loop512(iterations) : Fma.IsSupported ? Loop256(iterations) : 0;

    private static float Loop512(long n)
    {
        var a = Vector512.Create(0.999f);
        var b = Vector512.Create(1e-7f);
        Vector512<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (long i = 0; i < n; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(c0, a, b); c1 = Avx512F.FusedMultiplyAdd(c1, a, b);
            c2 = Avx512F.FusedMultiplyAdd(c2, a, b); c3 = Avx512F.FusedMultiplyAdd(c3, a, b);
            c4 = Avx512F.FusedMultiplyAdd(c4, a, b); c5 = Avx512F.FusedMultiplyAdd(c5, a, b);
            c6 = Avx512F.FusedMultiplyAdd(c6, a, b); c7 = Avx512F.FusedMultiplyAdd(c7, a, b);
            c8 = Avx512F.FusedMultiplyAdd(c8, a, b); c9 = Avx512F.FusedMultiplyAdd(c9, a, b);
            c10 = Avx512F.FusedMultiplyAdd(c10, a, b); c11 = Avx512F.FusedMultiplyAdd(c11, a, b);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    private static float Loop256(long n)
    {
        var a = Vector256.Create(0.999f);
        var b = Vector256.Create(1e-7f);
        Vector256<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (long i = 0; i < n; i++)
        {
            c0 = Fma.MultiplyAdd(c0, a, b); c1 = Fma.MultiplyAdd(c1, a, b);
            c2 = Fma.MultiplyAdd(c2, a, b); c3 = Fma.MultiplyAdd(c3, a, b);
            c4 = Fma.MultiplyAdd(c4, a, b); c5 = Fma.MultiplyAdd(c5, a, b);
            c6 = Fma.MultiplyAdd(c6, a, b); c7 = Fma.MultiplyAdd(c7, a, b);
            c8 = Fma.MultiplyAdd(c8, a, b); c9 = Fma.MultiplyAdd(c9, a, b);
            c10 = Fma.MultiplyAdd(c10, a, b); c11 = Fma.MultiplyAdd(c11, a, b);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    private static volatile float _sink;

    private static void Sink(float value) => _sink = value;
}
