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
        var ops = Ops<T>(width);
        Action<T[], T[]> sigmoid = Wrap(ops.Sigmoid), tanh = Wrap(ops.Tanh);
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

    /// <summary>The gate math of one vector width: σ and tanh in place (with a bias), and the fused forward pass.</summary>
    private static (ActivationInPlace<T> Sigmoid, ActivationInPlace<T> Tanh, ForwardPass<T> Forward) Ops<T>(string width)
        where T : unmanaged, IFloatingPointIeee754<T> => width switch
        {
            "Vector512" => (FastCellMath<T, Vector512<T>, Simd512<T>>.SigmoidInPlace, FastCellMath<T, Vector512<T>, Simd512<T>>.TanhInPlace, FastCellMath<T, Vector512<T>, Simd512<T>>.Forward),
            "Vector256" => (FastCellMath<T, Vector256<T>, Simd256<T>>.SigmoidInPlace, FastCellMath<T, Vector256<T>, Simd256<T>>.TanhInPlace, FastCellMath<T, Vector256<T>, Simd256<T>>.Forward),
            _ => (FastCellMath<T, Vector128<T>, Simd128<T>>.SigmoidInPlace, FastCellMath<T, Vector128<T>, Simd128<T>>.TanhInPlace, FastCellMath<T, Vector128<T>, Simd128<T>>.Forward),
        };

    /// <summary>
    /// tanh keeps its relative accuracy near zero, where 1 - 2 / (e^2z + 1) cancels (1e-6 came out 5% off in float, and
    /// everything below 6e-8 as 0): |z| from 1e-30 to 10, both signs, around ln 2 / 4 (where e^2z's reduction first
    /// takes n = ±1), and 0 itself, in the
    /// vectors and the scalar tail of every width, float and double, within a few ulp of tanh computed in double
    /// (float) or Math.Tanh (double). Through the gate pass (TanhInPlace) and the state update (tanh c').
    /// </summary>
    [Theory]
    [MemberData(nameof(WidthsAndTypes))]
    public void TanhIsRelativelyAccurateNearZero(string width, string type)
    {
        if (type == "float") NearZero<float>(width, 3e-7);
        else NearZero<double>(width, 1e-15);
    }

    private static void NearZero<T>(string width, double relative) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (_, tanh, forward) = Ops<T>(width);
        var rng = new Rng(12);
        var z = new List<T> { T.Zero, T.CreateTruncating(0.17328), T.CreateTruncating(0.17329), T.CreateTruncating(-0.17328), T.CreateTruncating(-0.17329) };
        for (int k = 0; k < 400; k++)
        {
            double magnitude = Math.Pow(10, -30 + 31 * rng.NextDouble());  // 1e-30 .. 10
            z.Add(T.CreateTruncating(k % 2 == 0 ? magnitude : -magnitude));
        }
        foreach (int n in new[] { z.Count, 37, 5 })  // vectors with a tail; short enough for the scalar path
        {
            for (int start = 0; start + n <= z.Count; start += n)
            {
                var x = z.GetRange(start, n).ToArray();
                tanh(new T[n], x);
                // tanh(c') of the state update: with i = 1 (large i gate), f = 0, g = tanh(z_g): c' = tanh(z_g), and o = 1,
                // so m = tanh(tanh(z_g)); both tanh near zero when z_g is.
                var gates = new T[4 * n];
                for (int k = 0; k < n; k++)
                {
                    gates[k] = T.CreateTruncating(100);             // i = σ(100) = 1
                    gates[n + k] = T.CreateTruncating(-100);        // f = σ(-100) ≈ 4e-44 (float: 0)
                    gates[2 * n + k] = z[start + k];                // g
                    gates[3 * n + k] = T.CreateTruncating(100);     // o = 1
                }
                var c = new T[n];
                var m = new T[n];
                forward(n, new T[4 * n], gates, new T[n], c, m);
                for (int k = 0; k < n; k++)
                {
                    double input = double.CreateChecked(z[start + k]), expected = Math.Tanh(input);
                    AssertRelative(expected, double.CreateChecked(x[k]), relative, $"tanh {width} {typeof(T).Name} n={n} z={input:R}");
                    AssertRelative(Math.Tanh(double.CreateChecked(c[k])), double.CreateChecked(m[k]), relative, $"tanh(c') {width} {typeof(T).Name} n={n} c'={c[k]}");
                }
            }
        }

        static void AssertRelative(double expected, double actual, double relative, string what) =>
            Assert.True(Math.Abs(actual - expected) <= relative * Math.Abs(expected), $"{what}: {actual:R} against {expected:R}");
    }

    private delegate void ForwardPass<T>(int hidden, ReadOnlySpan<T> bias, Span<T> gates, ReadOnlySpan<T> cPrev, Span<T> c, Span<T> m);

    /// <summary>
    /// Any NaN in gives NaN out, whatever its payload (R's NA is a NaN with low bits set): e^x's 2^n step added those bits
    /// into the exponent field and made a finite number of them. Every width, float and double, vector part and tail.
    /// </summary>
    [Theory]
    [MemberData(nameof(WidthsAndTypes))]
    public void EveryNaNPayloadStaysNaN(string width, string type)
    {
        if (type == "float")
            NaNs<float>(width, [float.NaN, BitConverter.Int32BitsToSingle(0x7FC00001), BitConverter.Int32BitsToSingle(0x7F8007A2), BitConverter.Int32BitsToSingle(unchecked((int)0xFFC12345))]);
        else
            NaNs<double>(width, [double.NaN, BitConverter.Int64BitsToDouble(0x7FF00000000007A2), BitConverter.Int64BitsToDouble(0x7FF8000000000001), BitConverter.Int64BitsToDouble(unchecked((long)0xFFF8123456789ABC))]);
    }

    private static void NaNs<T>(string width, T[] nans) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (sigmoid, tanh, _) = Ops<T>(width);
        foreach (var op in new[] { sigmoid, tanh })
            foreach (var nan in nans)
                for (int at = 0; at < 37; at += 9)  // in the vectors and in the last, overlapping one
                {
                    var x = new T[37];
                    x[at] = nan;
                    op(new T[37], x);
                    for (int k = 0; k < 37; k++) Assert.Equal(k == at, T.IsNaN(x[k]));
                }
    }
}
