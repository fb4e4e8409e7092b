using System.Numerics;
using System.Runtime.Intrinsics;
using LstmSharp.Kernels;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>
/// The fused gate pass's activations at every length 0..256, in every vector width the CPU runs, float and double:
/// each element equals σ or tanh of (x + b) computed in double, and nothing past the span is touched, so the scalar
/// short lengths and the overlapping last vector are both right.
/// </summary>
public class FastCellMathTests
{
    public static TheoryData<string, string> WidthsAndTypes() =>
        TestUtil.WithBothTypes(new[] { "Vector128", "Vector256", "Vector512" }.Where(width =>
            (width != "Vector256" || Vector256.IsHardwareAccelerated) && (width != "Vector512" || Vector512.IsHardwareAccelerated)));

    [Theory]
    [MemberData(nameof(WidthsAndTypes))]
    public void ActivationsAreAccurateAtEveryLength(string width, string type)
    {
        if (type == "float") Check<float>(width, 8e-7);
        else Check<double>(width, 4e-15);
    }

    private static void Check<T>(string width, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        (Action<T[], T[]> sigmoid, Action<T[], T[]> tanh) = width switch
        {
            "Vector512" => (Wrap(FastCellMath<T, Vector512<T>, Simd512<T>>.SigmoidInPlace), Wrap(FastCellMath<T, Vector512<T>, Simd512<T>>.TanhInPlace)),
            "Vector256" => (Wrap(FastCellMath<T, Vector256<T>, Simd256<T>>.SigmoidInPlace), Wrap(FastCellMath<T, Vector256<T>, Simd256<T>>.TanhInPlace)),
            _ => (Wrap(FastCellMath<T, Vector128<T>, Simd128<T>>.SigmoidInPlace), Wrap(FastCellMath<T, Vector128<T>, Simd128<T>>.TanhInPlace)),
        };
        var rng = new Rng(9);
        for (int n = 0; n <= 256; n++)
        {
            foreach (var (name, op, exact) in new[] { ("sigmoid", sigmoid, (Func<double, double>)(z => 1 / (1 + Math.Exp(-z)))), ("tanh", tanh, Math.Tanh) })
            {
                var x = new T[n + 3];
                var b = new T[n];
                rng.FillUniform(T.CreateChecked(-6), T.CreateChecked(6), x);
                rng.FillUniform(T.CreateChecked(-1), T.One, b);
                var before = (T[])x.Clone();
                op(b, x);
                for (int k = 0; k < n; k++)
                {
                    double expected = exact(double.CreateChecked(before[k]) + double.CreateChecked(b[k]));
                    double actual = double.CreateChecked(x[k]);
                    Assert.True(Math.Abs(actual - expected) <= tolerance,
                        $"{name} {width} {typeof(T).Name} n={n} element {k}: {actual} against {expected}");
                }
                for (int k = n; k < n + 3; k++) Assert.Equal(before[k], x[k]);  // past the span: untouched
            }
        }

        static Action<T[], T[]> Wrap(ActivationInPlace<T> f) => (b, x) => f(b, x.AsSpan(0, b.Length));
    }

    private delegate void ActivationInPlace<T>(ReadOnlySpan<T> b, Span<T> x);
}
