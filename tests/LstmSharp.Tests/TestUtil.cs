using System.Numerics;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

internal static class TestUtil
{
    /// <summary>max |a - b| / max(1, |b|) over all elements, with the index where it occurs.</summary>
    public static (double Error, int Index) MaxRelError<T>(ReadOnlySpan<T> actual, ReadOnlySpan<T> expected)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double worst = 0;
        int at = -1;
        for (int i = 0; i < actual.Length; i++)
        {
            double a = double.CreateChecked(actual[i]), b = double.CreateChecked(expected[i]);
            double e = Math.Abs(a - b) / Math.Max(1.0, Math.Abs(b));
            if (double.IsNaN(e)) return (double.NaN, i);
            if (e > worst) (worst, at) = (e, i);
        }
        return (worst, at);
    }

    public static void AssertClose<T>(string what, Tensor<T> expected, Tensor<T> actual, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.True(actual.HasShape([.. expected.Shape]),
            $"{what}: shape {actual.ShapeString}, expected {expected.ShapeString}");
        var (err, at) = MaxRelError<T>(actual.Data, expected.Data);
        if (!(err <= tolerance))
            Assert.Fail($"{what}: max |a-b|/max(1,|b|) = {err:E3} > {tolerance:E1} at flat index {at} (actual {actual.Data[at]}, expected {expected.Data[at]})");
    }

    public static Tensor<T> Random<T>(Rng rng, params int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = Tensor<T>.Zeros(shape);
        rng.FillUniform(T.CreateChecked(-1), T.One, t.Data);
        return t;
    }

    public static double Dot<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += double.CreateChecked(a.Data[i]) * double.CreateChecked(b.Data[i]);
        return s;
    }

    /// <summary>Central difference (L(x + ε) - L(x - ε)) / 2ε of <paramref name="loss"/> in element i of <paramref name="data"/>, ε = 1e-6.</summary>
    public static double Numeric(double[] data, int i, Func<double> loss)
    {
        const double eps = 1e-6;
        double saved = data[i];
        data[i] = saved + eps;
        double up = loss();
        data[i] = saved - eps;
        double down = loss();
        data[i] = saved;
        return (up - down) / (2 * eps);
    }

    /// <summary>The folder of the golden reference files copied next to the test assembly.</summary>
    public static string GoldenDir => Path.Combine(AppContext.BaseDirectory, "Golden");

    /// <summary>
    /// The second-largest count of bytes the calling thread allocated in one of <paramref name="rounds"/> runs of
    /// <paramref name="action"/>: zero when at most one run allocated. The runtime itself sometimes allocates on a thread
    /// once, at a moment of its choosing (tiered compilation's background worker, a type's first use), which one run can
    /// catch; an allocation made by the code under test shows in every run, and one that comes in bursts (a buffer that
    /// doubles when full) in more than one.
    /// </summary>
    public static long AllocatedInAllButOneRound(Action action, int rounds = 3)
    {
        var bytes = new long[rounds];  // [rounds]
        for (int r = 0; r < rounds; r++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            action();
            bytes[r] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Array.Sort(bytes);
        return bytes[^2];
    }

    /// <summary>Each name with "float" and with "double": the rows of a theory over variants and both element types.</summary>
    public static TheoryData<string, string> WithBothTypes(IEnumerable<string> names)
    {
        var data = new TheoryData<string, string>();
        foreach (var name in names)
        {
            data.Add(name, "float");
            data.Add(name, "double");
        }
        return data;
    }
}
