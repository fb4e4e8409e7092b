using System.Numerics;
using LstmSharp.Losses;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>
/// The losses: gradients against finite differences for every loss × reduction × mask, values against formulas written
/// out here (never the code under test), masks, ignore index, class weights, float32 against float64, and errors.
/// </summary>
public class LossTests
{
    // ---- The cases: one named configuration per loss (and per option set), run in float32 or float64. ----

    private static readonly string[] Names =
    [
        "Mse", "L1", "Huber", "HuberDelta", "SmoothL1", "SmoothL1Beta0", "Bce", "BceWeighted",
        "CrossEntropy", "CrossEntropyWeighted", "CrossEntropySmoothed", "CrossEntropyAll",
    ];

    private static bool IsCe(string loss) => loss.StartsWith("CrossEntropy", StringComparison.Ordinal);

    /// <summary>Regression and BCE: [3, 4]. Cross-entropy: logits [B, T, C] = [2, 3, 4], 6 rows.</summary>
    private static int[] ShapeOf(string loss) => IsCe(loss) ? [2, 3, 4] : [3, 4];

    private static Tensor<double> Prediction(string loss)
    {
        var x = TestUtil.Random<double>(new Rng(11), ShapeOf(loss));
        for (int i = 0; i < x.Length; i++) x.Data[i] *= 2; // d = y - t spans both sides of δ, β = 0.5, 0.7, 1
        return x;
    }

    private static LossResult<T> Run<T>(string loss, Tensor<T> x, bool[]? mask, Reduction reduction)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = TestUtil.Random<double>(new Rng(12), ShapeOf(loss)).Cast<T>();
        var t01 = new Tensor<T>([.. t.Data.Select(v => (v + T.One) / T.CreateChecked(2))], [.. t.Shape]); // soft labels in [0, 1]
        Tensor<T> W(params double[] v) => new([.. v.Select(T.CreateChecked)], v.Length);
        return loss switch
        {
            "Mse" => MseLoss.Compute(x, t, mask, reduction),
            "L1" => L1Loss.Compute(x, t, mask, reduction),
            "Huber" => HuberLoss.Compute(x, t, mask, reduction),
            "HuberDelta" => HuberLoss.Compute(x, t, mask, reduction, delta: 0.5),
            "SmoothL1" => SmoothL1Loss.Compute(x, t, mask, reduction, beta: 0.7),
            "SmoothL1Beta0" => SmoothL1Loss.Compute(x, t, mask, reduction, beta: 0),
            "Bce" => BceWithLogitsLoss.Compute(x, t01, mask, reduction),
            "BceWeighted" => BceWithLogitsLoss.Compute(x, t01, mask, reduction,
                weight: W(0.5, 2, 1.5).Reshape(3, 1), posWeight: W(1, 3, 0.5, 2)),
            "CrossEntropy" => CrossEntropyLoss.Compute(x, [0, 3, 1, 2, 2, 1], mask, reduction),
            "CrossEntropyWeighted" => CrossEntropyLoss.Compute(x, [0, 3, -100, 2, 2, 1], mask, reduction, weight: W(0.5, 2, 1, 3)),
            "CrossEntropySmoothed" => CrossEntropyLoss.Compute(x, [0, 3, 1, 2, 2, 1], mask, reduction, labelSmoothing: 0.25),
            "CrossEntropyAll" => CrossEntropyLoss.Compute(x, [0, 3, 1, 2, 2, 1], mask, reduction,
                weight: W(0.5, 2, 1, 3), ignoreIndex: 1, labelSmoothing: 0.1),
            _ => throw new ArgumentException(loss),
        };
    }

    /// <summary>"none"; "rows": one flag per position of all axes but the last; "elements": one per element (not for cross-entropy).</summary>
    private static bool[]? Mask(string loss, string kind)
    {
        int[] shape = ShapeOf(loss);
        int length = shape.Aggregate(1, (a, b) => a * b), rows = length / shape[^1];
        return kind switch
        {
            "none" => null,
            "rows" => [.. Enumerable.Range(0, rows).Select(r => r % 3 != 1)],
            "elements" => [.. Enumerable.Range(0, length).Select(i => i % 5 != 2)],
            _ => throw new ArgumentException(kind),
        };
    }

    /// <summary>Whether element i of x counts under the mask.</summary>
    private static bool Kept(bool[]? mask, int i, int length, int features) =>
        mask is null || (mask.Length == length ? mask[i] : mask[i / features]);

    private static readonly Reduction[] Reductions = [Reduction.Mean, Reduction.Sum, Reduction.None];

    public static TheoryData<string, Reduction, string> EveryLossReductionAndMask()
    {
        var data = new TheoryData<string, Reduction, string>();
        foreach (var loss in Names)
            foreach (var reduction in Reductions)
                foreach (var mask in IsCe(loss) ? new[] { "none", "rows" } : ["none", "rows", "elements"])
                    data.Add(loss, reduction, mask);
        return data;
    }

    public static TheoryData<string, string> EveryLossAndMask()
    {
        var data = new TheoryData<string, string>();
        foreach (var loss in Names)
            foreach (var mask in IsCe(loss) ? new[] { "rows" } : ["rows", "elements"])
                data.Add(loss, mask);
        return data;
    }

    // ---- Gradients, reductions, masks, precision: every case. ----

    [Theory]
    [MemberData(nameof(EveryLossReductionAndMask))]
    public void GradientMatchesFiniteDifferences(string loss, Reduction reduction, string maskKind)
    {
        var x = Prediction(loss);
        var mask = Mask(loss, maskKind);
        var result = Run(loss, x, mask, reduction);
        Assert.True(result.Gradient.HasShape([.. x.Shape]));
        for (int i = 0; i < x.Length; i++)
        {
            double numeric = TestUtil.Numeric(x.Data, i, () => Run(loss, x, mask, reduction).Value);
            double analytic = result.Gradient.Data[i];
            Assert.True(Math.Abs(analytic - numeric) <= 1e-7 * Math.Max(1, Math.Abs(numeric)),
                $"{loss} {reduction} mask {maskKind}: gradient[{i}] = {analytic}, finite difference {numeric}");
            if (!Kept(mask, i, x.Length, x.Dim(-1))) Assert.Equal(0.0, analytic);
        }
    }

    [Theory]
    [MemberData(nameof(EveryLossAndMask))]
    public void ReductionsAgree(string loss, string maskKind)
    {
        var x = Prediction(loss);
        var mask = Mask(loss, maskKind);
        var mean = Run(loss, x, mask, Reduction.Mean);
        var sum = Run(loss, x, mask, Reduction.Sum);
        var none = Run(loss, x, mask, Reduction.None);
        Assert.Null(mean.Elementwise);
        Assert.Null(sum.Elementwise);
        var each = Assert.IsType<Tensor<double>>(none.Elementwise);
        Assert.True(each.HasShape(IsCe(loss) ? [2, 3] : [3, 4]), each.ShapeString);
        Assert.Equal(sum.Value, each.Data.Sum(), 1e-12);
        Assert.Equal(sum.Value, none.Value, 1e-12);
        Assert.Equal(sum.Gradient.Data, none.Gradient.Data);
        int features = IsCe(loss) ? 1 : x.Dim(-1); // cross-entropy: one loss per row
        for (int i = 0; i < each.Length; i++)
            if (!Kept(mask, i, each.Length, features)) Assert.Equal(0.0, each.Data[i]);

        // Mean = Sum / divisor, value and gradient alike; the divisor is the number of elements that count,
        // except for cross-entropy with weights (checked by hand below).
        double divisor = sum.Value / mean.Value;
        if (!IsCe(loss) || loss == "CrossEntropy" || loss == "CrossEntropySmoothed")
        {
            int count = Enumerable.Range(0, each.Length).Count(i => Kept(mask, i, each.Length, features));
            Assert.Equal(count, divisor, 1e-9);
        }
        for (int i = 0; i < x.Length; i++) Assert.Equal(sum.Gradient.Data[i] / divisor, mean.Gradient.Data[i], 1e-12);
    }

    [Theory]
    [MemberData(nameof(EveryLossAndMask))]
    public void MaskedElementsAreNotRead(string loss, string maskKind)
    {
        var x = Prediction(loss);
        var mask = Mask(loss, maskKind)!;
        foreach (var reduction in Reductions)
        {
            var expected = Run(loss, x, mask, reduction);
            var poisoned = x.Clone();
            for (int i = 0; i < x.Length; i++)
                if (!Kept(mask, i, x.Length, x.Dim(-1))) poisoned.Data[i] = double.NaN;
            var actual = Run(loss, poisoned, mask, reduction);
            Assert.Equal(expected.Value, actual.Value);
            Assert.Equal(expected.Gradient.Data, actual.Gradient.Data);
            Assert.Equal(expected.Elementwise?.Data, actual.Elementwise?.Data);

            // Perturbing a masked prediction to a finite value changes nothing either.
            int masked = Enumerable.Range(0, x.Length).First(i => !Kept(mask, i, x.Length, x.Dim(-1)));
            var moved = x.Clone();
            moved.Data[masked] += 3;
            var again = Run(loss, moved, mask, reduction);
            Assert.Equal(expected.Value, again.Value);
            Assert.Equal(expected.Gradient.Data, again.Gradient.Data);
        }
    }

    [Theory]
    [MemberData(nameof(EveryLossReductionAndMask))]
    public void Float32AgreesWithFloat64(string loss, Reduction reduction, string maskKind)
    {
        var x = Prediction(loss);
        var mask = Mask(loss, maskKind);
        var d = Run(loss, x, mask, reduction);
        var f = Run(loss, x.Cast<float>(), mask, reduction);
        Assert.True(Math.Abs(f.Value - d.Value) <= 1e-5 * Math.Max(1, Math.Abs(d.Value)), $"value {f.Value} vs {d.Value}");
        TestUtil.AssertClose("gradient", d.Gradient, f.Gradient.Cast<double>(), 1e-6);
        if (reduction == Reduction.None)
            TestUtil.AssertClose("elementwise", d.Elementwise!, f.Elementwise!.Cast<double>(), 1e-5);
    }

    [Fact]
    public void RowMaskIsTheElementMaskRepeatedOverTheLastAxis()
    {
        var x = Prediction("Huber");
        bool[] rows = [true, false, true];
        bool[] elements = [.. Enumerable.Range(0, 12).Select(i => rows[i / 4])];
        foreach (var reduction in Reductions)
        {
            var a = Run("Huber", x, rows, reduction);
            var b = Run("Huber", x, elements, reduction);
            Assert.Equal(b.Value, a.Value);
            Assert.Equal(b.Gradient.Data, a.Gradient.Data);
        }
        // Mean over the 2 rows that count: 2 × 4 = 8 elements, as Sum / 8.
        Assert.Equal(Run("Huber", x, rows, Reduction.Sum).Value / 8, Run("Huber", x, rows, Reduction.Mean).Value, 1e-12);
    }

    [Fact]
    public void NothingCountingGivesZeroNotNaN()
    {
        foreach (var loss in Names)
        {
            var x = Prediction(loss);
            int rows = x.Length / x.Dim(-1);
            foreach (var reduction in Reductions)
            {
                var r = Run(loss, x, new bool[rows], reduction); // every row masked
                Assert.Equal(0.0, r.Value);
                Assert.All(r.Gradient.Data, g => Assert.Equal(0.0, g));
            }
        }
        // Every target ignored: PyTorch gives NaN for mean; here 0 and a zero gradient.
        var all = CrossEntropyLoss.Compute(Tensor<double>.Full(1.0, 2, 3), [-100, -100]);
        Assert.Equal(0.0, all.Value);
        Assert.All(all.Gradient.Data, g => Assert.Equal(0.0, g));
    }

    // ---- Values by hand. ----

    [Fact]
    public void RegressionLossesByHand()
    {
        var y = new Tensor<double>([1, 2, 3], 3);
        var t = new Tensor<double>([0, 0, 5], 3);   // d = 1, 2, -2
        var mse = MseLoss.Compute(y, t);            // (1 + 4 + 4) / 3 = 3; dl/dy = 2d / 3
        Assert.Equal(3.0, mse.Value, 1e-14);
        Assert.Equal([2.0 / 3, 4.0 / 3, -4.0 / 3], mse.Gradient.Data);
        Assert.Equal(9.0, MseLoss.Compute(y, t, reduction: Reduction.Sum).Value);
        Assert.Equal([1.0, 4.0, 4.0], MseLoss.Compute(y, t, reduction: Reduction.None).Elementwise!.Data);

        // L1: d = 0, -2, 0.5, 2 → |d| = 0, 2, 0.5, 2: mean 4.5 / 4; gradient sign(d) / 4 with sign(0) = 0.
        var l1 = L1Loss.Compute(new Tensor<double>([1, -2, 0.5, 3], 4), new Tensor<double>([1, 0, 0, 1], 4));
        Assert.Equal(1.125, l1.Value);
        Assert.Equal([0.0, -0.25, 0.25, 0.25], l1.Gradient.Data);

        // Huber δ = 1: d = 0.5 (quadratic: 0.5 · 0.25 = 0.125, grad 0.5), d = -3 (linear: 1 · (3 - 0.5) = 2.5, grad -1),
        // d = 1 = δ (both branches: 0.5, grad 1).
        var d = new Tensor<double>([0.5, -3, 1], 3);
        var zeros = Tensor<double>.Zeros(3);
        var huber = HuberLoss.Compute(d, zeros, reduction: Reduction.None);
        Assert.Equal([0.125, 2.5, 0.5], huber.Elementwise!.Data);
        Assert.Equal([0.5, -1.0, 1.0], huber.Gradient.Data);
        // δ = 2: d = 3 → 2 · (3 - 1) = 4, grad 2; d = 1 → 0.5, grad 1.
        var huber2 = HuberLoss.Compute(new Tensor<double>([3, 1], 2), Tensor<double>.Zeros(2), reduction: Reduction.None, delta: 2);
        Assert.Equal([4.0, 0.5], huber2.Elementwise!.Data);
        Assert.Equal([2.0, 1.0], huber2.Gradient.Data);

        // Smooth L1 β = 0.5: d = 0.25 → 0.5 · 0.0625 / 0.5 = 0.0625, grad 0.5; d = -2 → 2 - 0.25 = 1.75, grad -1.
        var smooth = SmoothL1Loss.Compute(new Tensor<double>([0.25, -2], 2), Tensor<double>.Zeros(2), reduction: Reduction.None, beta: 0.5);
        Assert.Equal([0.0625, 1.75], smooth.Elementwise!.Data);
        Assert.Equal([0.5, -1.0], smooth.Gradient.Data);
        // β = 0 is L1, with PyTorch's gradient at d = 0: -1 (its d ≤ -β branch), where L1's own is 0.
        var tie = SmoothL1Loss.Compute(new Tensor<double>([0, 2, -3], 3), Tensor<double>.Zeros(3), reduction: Reduction.None, beta: 0);
        Assert.Equal([0.0, 2.0, 3.0], tie.Elementwise!.Data);
        Assert.Equal([-1.0, 1.0, -1.0], tie.Gradient.Data);

        // Huber(δ) = δ · SmoothL1(β = δ), value and gradient.
        var x = Prediction("Mse");
        var target = Tensor<double>.Zeros(3, 4);
        var h = HuberLoss.Compute(x, target, delta: 0.6);
        var s = SmoothL1Loss.Compute(x, target, beta: 0.6);
        Assert.Equal(0.6 * s.Value, h.Value, 1e-14);
        for (int i = 0; i < x.Length; i++) Assert.Equal(0.6 * s.Gradient.Data[i], h.Gradient.Data[i], 1e-14);
    }

    [Fact]
    public void BceWithLogitsByHand()
    {
        static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
        // x = 0: σ = 1/2, so l = -log(1/2) = log 2 for any t; dl/dx = 1/2 - t.
        var r = BceWithLogitsLoss.Compute(Tensor<double>.Zeros(3), new Tensor<double>([0, 1, 0.5], 3), reduction: Reduction.None);
        Assert.All(r.Elementwise!.Data, v => Assert.Equal(Math.Log(2), v, 15));
        Assert.Equal([0.5, -0.5, 0.0], r.Gradient.Data);

        // Straight from the definition -[t log σ(x) + (1 - t) log(1 - σ(x))] at moderate x.
        double[] xs = [2, -3, 0.7], ts = [1, 0.25, 0];
        var b = BceWithLogitsLoss.Compute(new Tensor<double>(xs, 3), new Tensor<double>(ts, 3), reduction: Reduction.None);
        for (int i = 0; i < 3; i++)
        {
            double expected = -(ts[i] * Math.Log(Sigmoid(xs[i])) + (1 - ts[i]) * Math.Log(1 - Sigmoid(xs[i])));
            Assert.Equal(expected, b.Elementwise!.Data[i], 1e-14);
            Assert.Equal(Sigmoid(xs[i]) - ts[i], b.Gradient.Data[i], 1e-14);
        }
        Assert.Equal(Math.Log(1 + Math.Exp(-2)), b.Elementwise!.Data[0], 1e-14); // 0.12692801104297...

        // Large |x| stays finite and accurate: l(100, 1) = log(1 + e^-100) ≈ e^-100, l(100, 0) = 100 + e^-100.
        var big = BceWithLogitsLoss.Compute(new Tensor<double>([100, 100, -100], 3), new Tensor<double>([1, 0, 0], 3), reduction: Reduction.None);
        Assert.Equal(Math.Exp(-100), big.Elementwise!.Data[0], Math.Exp(-100) * 1e-12);
        Assert.Equal(100.0, big.Elementwise.Data[1]);
        Assert.Equal(Math.Exp(-100), big.Elementwise.Data[2], Math.Exp(-100) * 1e-12);
        Assert.Equal(0.0, big.Gradient.Data[0]);                   // σ(100) - 1 = 0 in float64, as in PyTorch
        Assert.Equal(1.0, big.Gradient.Data[1]);
        Assert.Equal(Math.Exp(-100), big.Gradient.Data[2], Math.Exp(-100) * 1e-12);

        // pos weight p on positives: l = -w [p t log σ(x) + (1 - t) log(1 - σ(x))]. At x = 0, t = 1, p = 3: 3 log 2,
        // dl/dx = (p t + 1 - t) σ - p t = 3/2 - 3 = -3/2. Weight w = 2 doubles both. Per class p = [3, 1]:
        // class 1 at x = 0, t = 0: log 2, dl/dx = 1/2 → times w.
        var pw = BceWithLogitsLoss.Compute(Tensor<double>.Zeros(1, 2), new Tensor<double>([1, 0], 1, 2), reduction: Reduction.None,
            weight: new Tensor<double>([2.0], 1), posWeight: new Tensor<double>([3.0, 1], 2));
        Assert.Equal(2 * 3 * Math.Log(2), pw.Elementwise!.Data[0], 1e-14);
        Assert.Equal(2 * Math.Log(2), pw.Elementwise.Data[1], 1e-14);
        Assert.Equal([-3.0, 1.0], pw.Gradient.Data);

        // Soft target with pos weight, from the definition.
        double x1 = 0.8, t1 = 0.3, p1 = 2.5, w1 = 0.7;
        var soft = BceWithLogitsLoss.Compute(new Tensor<double>([x1], 1), new Tensor<double>([t1], 1), reduction: Reduction.Sum,
            weight: new Tensor<double>([w1], 1), posWeight: new Tensor<double>([p1], 1));
        Assert.Equal(-w1 * (p1 * t1 * Math.Log(Sigmoid(x1)) + (1 - t1) * Math.Log(1 - Sigmoid(x1))), soft.Value, 1e-14);

        // Weight [N, 1] repeats over the classes; the mean divides by the element count, not by the weights.
        var x = Prediction("Bce");
        var target = Tensor<double>.Full(0.5, 3, 4);
        var rowW = BceWithLogitsLoss.Compute(x, target, weight: new Tensor<double>([1, 2, 3], 3, 1));
        var fullW = BceWithLogitsLoss.Compute(x, target, weight: new Tensor<double>([.. Enumerable.Range(0, 12).Select(i => 1.0 + i / 4)], 3, 4));
        Assert.Equal(fullW.Value, rowW.Value);
        Assert.Equal(fullW.Gradient.Data, rowW.Gradient.Data);
        var each = BceWithLogitsLoss.Compute(x, target, reduction: Reduction.None).Elementwise!;
        Assert.Equal(Enumerable.Range(0, 12).Sum(i => (1.0 + i / 4) * each.Data[i]) / 12, rowW.Value, 1e-14);
    }

    [Fact]
    public void CrossEntropyByHand()
    {
        // z = [1, 2, 3]: log Σ exp z = L = log(e + e² + e³) = 3.40760596444438, -log p = L - z = [2.4076, 1.4076, 0.4076].
        double bigL = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3));
        var z = new Tensor<double>([1, 2, 3], 1, 3);
        Assert.Equal(bigL - 1, CrossEntropyLoss.Compute(z, [0]).Value, 1e-14);

        // Label smoothing ε = 0.3, target 0: l = 0.7 (L - 1) + (0.3 / 3) Σ_c (L - z_c) = L - 0.7 - 0.1 · 6 = L - 1.3 = 2.10760596444438.
        var smoothed = CrossEntropyLoss.Compute(z, [0], labelSmoothing: 0.3);
        Assert.Equal(bigL - 1.3, smoothed.Value, 1e-14);
        Assert.Equal(2.10760596444438, smoothed.Value, 1e-13);
        // dl/dz_k = p_k - 0.7 [k = 0] - 0.1.
        double[] p = [.. new[] { 1.0, 2, 3 }.Select(v => Math.Exp(v - bigL))];
        double[] expectedSmooth = [p[0] - 0.8, p[1] - 0.1, p[2] - 0.1];
        for (int k = 0; k < 3; k++) Assert.Equal(expectedSmooth[k], smoothed.Gradient.Data[k], 1e-14);

        // With weights w = [1, 2, 0.5], target 0: l = 0.7 · 1 · (L - 1) + 0.1 · [1 (L - 1) + 2 (L - 2) + 0.5 (L - 3)]
        // = 1.05 L - 1.35 = 2.227986262666599; the mean divides by w[0] = 1.
        var w = new Tensor<double>([1, 2, 0.5], 3);
        Assert.Equal(1.05 * bigL - 1.35, CrossEntropyLoss.Compute(z, [0], weight: w, labelSmoothing: 0.3).Value, 1e-14);
        // Target 1: l = 0.7 · 2 · (L - 2) + 0.1 (3.5 L - 6.5) = 1.75 L - 3.45; the mean divides by w[1] = 2.
        Assert.Equal(1.75 * bigL - 3.45, CrossEntropyLoss.Compute(z, [1], reduction: Reduction.Sum, weight: w, labelSmoothing: 0.3).Value, 1e-14);
        Assert.Equal((1.75 * bigL - 3.45) / 2, CrossEntropyLoss.Compute(z, [1], weight: w, labelSmoothing: 0.3).Value, 1e-14);
        // Gradient with weights and smoothing: (0.7 w_t + 0.1 Σw) p_k - 0.7 w_t [k = t] - 0.1 w_k, over W = w_t = 2.
        var g = CrossEntropyLoss.Compute(z, [1], weight: w, labelSmoothing: 0.3).Gradient.Data;
        double a = 0.7 * 2 + 0.1 * 3.5;
        double[] expected = [(a * p[0] - 0.1 * 1) / 2, (a * p[1] - 1.4 - 0.1 * 2) / 2, (a * p[2] - 0.1 * 0.5) / 2];
        for (int k = 0; k < 3; k++) Assert.Equal(expected[k], g[k], 1e-14);

        // ε = 1: only the smoothing term, (1/3) Σ_c (L - z_c) = L - 2, whatever the target.
        Assert.Equal(bigL - 2, CrossEntropyLoss.Compute(z, [2], labelSmoothing: 1).Value, 1e-14);
    }

    [Fact]
    public void CrossEntropyWeightedMeanDividesBySummedTargetWeights()
    {
        // Rows z0 = [0, 0, 0] (-log p = log 3 for every class) and z1 = [ln 2, 0, 0] (p = [1/2, 1/4, 1/4]).
        var z = new Tensor<double>([0, 0, 0, Math.Log(2), 0, 0], 2, 3);
        var w = new Tensor<double>([1, 2, 3], 3);
        // Targets [2, 1]: per row w[t] (-log p[t]) = 3 log 3 and 2 log 4; mean = (3 log 3 + 2 log 4) / (3 + 2).
        var mean = CrossEntropyLoss.Compute(z, [2, 1], weight: w);
        Assert.Equal((3 * Math.Log(3) + 2 * Math.Log(4)) / 5, mean.Value, 1e-14);
        var none = CrossEntropyLoss.Compute(z, [2, 1], reduction: Reduction.None, weight: w);
        Assert.Equal(3 * Math.Log(3), none.Elementwise!.Data[0], 1e-14);
        Assert.Equal(2 * Math.Log(4), none.Elementwise.Data[1], 1e-14);
        Assert.Equal(3 * Math.Log(3) + 2 * Math.Log(4), none.Value, 1e-14);
        // Gradient over W = 5: w[t] (p - onehot(t)) / 5.
        Assert.Equal(3 * (1.0 / 3 - 1) / 5, mean.Gradient[0, 2], 1e-14);
        Assert.Equal(2 * (0.25 - 1) / 5, mean.Gradient[1, 1], 1e-14);
        Assert.Equal(2 * 0.5 / 5, mean.Gradient[1, 0], 1e-14);

        // An ignored row drops out of the divisor too: targets [-100, 1] → 2 log 4 / 2.
        var ignored = CrossEntropyLoss.Compute(z, [-100, 1], weight: w);
        Assert.Equal(Math.Log(4), ignored.Value, 1e-14);
        Assert.All(ignored.Gradient.Data.Take(3), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void CrossEntropyIgnoreIndex()
    {
        var x = Prediction("CrossEntropy").Reshape(6, 4);
        int[] targets = [0, 3, 1, 2, 2, 1];
        // ignoreIndex = 2 (a class in range, as PyTorch allows) is the same as masking the rows whose target is 2.
        var byIndex = CrossEntropyLoss.Compute(x, targets, ignoreIndex: 2);
        var byMask = CrossEntropyLoss.Compute(x, targets, targets.Select(t => t != 2).ToArray());
        Assert.Equal(byMask.Value, byIndex.Value);
        Assert.Equal(byMask.Gradient.Data, byIndex.Gradient.Data);
        // The default -100, and the mean over the 5 rows left.
        int[] withIgnored = [0, 3, -100, 2, 2, 1];
        var none = CrossEntropyLoss.Compute(x, withIgnored, reduction: Reduction.None);
        Assert.Equal(0.0, none.Elementwise!.Data[2]);
        Assert.All(none.Gradient.Data.Skip(8).Take(4), v => Assert.Equal(0.0, v));
        Assert.Equal(none.Value / 5, CrossEntropyLoss.Compute(x, withIgnored).Value, 1e-14);
        // Unignored row r: -log softmax(x_r)[t], from its logits.
        for (int r = 0; r < 6; r++)
        {
            if (withIgnored[r] < 0) continue;
            var row = x.Data.AsSpan(r * 4, 4).ToArray();
            double lse = Math.Log(row.Sum(Math.Exp));
            Assert.Equal(lse - row[withIgnored[r]], none.Elementwise.Data[r], 1e-14);
        }
        // A masked row's target is not read: any value, even out of range.
        var masked = CrossEntropyLoss.Compute(x, [0, 3, 99, 2, 2, 1], [true, true, false, true, true, true]);
        Assert.Equal(CrossEntropyLoss.Compute(x, withIgnored).Value, masked.Value);
    }

    [Fact]
    public void CrossEntropyFlattensLeadingAxes()
    {
        var x = Prediction("CrossEntropy");                       // [2, 3, 4]
        int[] targets = [0, 3, 1, 2, 2, 1];
        var flat = CrossEntropyLoss.Compute(x.Reshape(6, 4), targets, reduction: Reduction.None);
        var rank3 = CrossEntropyLoss.Compute(x, targets, reduction: Reduction.None);
        Assert.Equal(flat.Value, rank3.Value);
        Assert.True(rank3.Gradient.HasShape(2, 3, 4));
        Assert.Equal(flat.Gradient.Data, rank3.Gradient.Data);
        Assert.True(rank3.Elementwise!.HasShape(2, 3), rank3.Elementwise.ShapeString);
        Assert.Equal(flat.Elementwise!.Data, rank3.Elementwise.Data);

        // Unbatched [C] with one target: a rank-0 per-row loss.
        var one = CrossEntropyLoss.Compute(new Tensor<double>([1, 2, 3], 3), [2], reduction: Reduction.None);
        Assert.Equal(0, one.Elementwise!.Rank);
        Assert.Equal(Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3)) - 3, one.Value, 1e-14);
    }

    [Fact]
    public void DefaultCallsKeepTheirMeaning()
    {
        // The two-argument calls of the golden tests: mean reduction, no mask, no weights.
        var x = Prediction("CrossEntropy").Reshape(6, 4);
        int[] targets = [0, 3, 1, 2, 2, 1];
        var ce = CrossEntropyLoss.Compute(x, targets);
        double expected = 0;
        for (int r = 0; r < 6; r++)
        {
            var row = x.Data.AsSpan(r * 4, 4).ToArray();
            expected += Math.Log(row.Sum(Math.Exp)) - row[targets[r]];
        }
        Assert.Equal(expected / 6, ce.Value, 1e-14);
        Assert.Null(ce.Elementwise);
        var legacy = new LossResult<double>(1.5, Tensor<double>.Zeros(2));
        Assert.Equal(1.5, legacy.Value);
        Assert.Null(legacy.Elementwise);
    }

    // ---- Errors. ----

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var x = Tensor<double>.Zeros(2, 3);
        var wrong = Tensor<double>.Zeros(3, 2);
        foreach (var call in new Action[]
        {
            () => MseLoss.Compute(x, wrong), () => L1Loss.Compute(x, wrong), () => HuberLoss.Compute(x, wrong),
            () => SmoothL1Loss.Compute(x, wrong), () => BceWithLogitsLoss.Compute(x, wrong),
        })
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Equal("target", e.ParamName);
            Assert.Contains("[2, 3]", e.Message);
            Assert.Contains("[3, 2]", e.Message);
        }

        var mask = Assert.Throws<ArgumentException>(() => MseLoss.Compute(x, x, new bool[4]));
        Assert.Equal("mask", mask.ParamName);
        Assert.Contains("6 flags", mask.Message);
        Assert.Contains("or 2", mask.Message);
        Assert.Contains("[2, 3]", mask.Message);
        Assert.Contains("got 4", mask.Message);

        var delta = Assert.Throws<ArgumentOutOfRangeException>(() => HuberLoss.Compute(x, x, delta: 0));
        Assert.Equal("delta", delta.ParamName);
        Assert.Equal("delta", Assert.Throws<ArgumentOutOfRangeException>(() => HuberLoss.Compute(x, x, delta: -1)).ParamName);
        Assert.Equal("delta", Assert.Throws<ArgumentOutOfRangeException>(() => HuberLoss.Compute(x, x, delta: double.NaN)).ParamName);
        Assert.Equal("beta", Assert.Throws<ArgumentOutOfRangeException>(() => SmoothL1Loss.Compute(x, x, beta: -0.1)).ParamName);
        Assert.Equal("reduction", Assert.Throws<ArgumentOutOfRangeException>(() => MseLoss.Compute(x, x, reduction: (Reduction)7)).ParamName);

        var pos = Assert.Throws<ArgumentException>(() => BceWithLogitsLoss.Compute(x, x, posWeight: Tensor<double>.Zeros(2)));
        Assert.Equal("posWeight", pos.ParamName);
        Assert.Contains("[2]", pos.Message);
        Assert.Contains("[2, 3]", pos.Message);
        Assert.Equal("weight", Assert.Throws<ArgumentException>(() => BceWithLogitsLoss.Compute(x, x, weight: Tensor<double>.Zeros(1, 2, 3))).ParamName);
    }

    [Fact]
    public void CrossEntropyRefusesBadTargetsAndOptions()
    {
        var z = Tensor<float>.Zeros(2, 3);
        var range = Assert.Throws<ArgumentException>(() => CrossEntropyLoss.Compute(z, [0, 5]));
        Assert.Equal("targets", range.ParamName);
        Assert.Contains("targets[1] = 5", range.Message);
        Assert.Contains("0..2", range.Message);
        Assert.Contains("targets[0] = -1", Assert.Throws<ArgumentException>(() => CrossEntropyLoss.Compute(z, [-1, 0])).Message);
        // -1 is fine when it is the ignore index.
        Assert.Equal(0.0, CrossEntropyLoss.Compute(z, [-1, -1], ignoreIndex: -1).Value);

        var count = Assert.Throws<ArgumentException>(() => CrossEntropyLoss.Compute(Tensor<float>.Zeros(2, 3, 4), [0, 1]));
        Assert.Equal("targets", count.ParamName);
        Assert.Contains("N = 6", count.Message);
        Assert.Contains("[2, 3, 4]", count.Message);
        Assert.Contains("got 2", count.Message);

        var mask = Assert.Throws<ArgumentException>(() => CrossEntropyLoss.Compute(z, [0, 1], new bool[6]));
        Assert.Equal("mask", mask.ParamName);
        Assert.Contains("N = 2", mask.Message);

        var weight = Assert.Throws<ArgumentException>(() => CrossEntropyLoss.Compute(z, [0, 1], weight: Tensor<float>.Zeros(2)));
        Assert.Equal("weight", weight.ParamName);
        Assert.Contains("[3]", weight.Message);
        Assert.Contains("[2]", weight.Message);

        foreach (double eps in new[] { -0.1, 1.5, double.NaN })
            Assert.Equal("labelSmoothing", Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropyLoss.Compute(z, [0, 1], labelSmoothing: eps)).ParamName);
        Assert.Equal("logits", Assert.Throws<ArgumentException>(() => CrossEntropyLoss.Compute(Tensor<float>.Zeros(2, 0), [0, 1])).ParamName);
        Assert.Equal("reduction", Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropyLoss.Compute(z, [0, 1], reduction: (Reduction)(-1))).ParamName);
    }

    /// <summary>
    /// Large logits keep their loss (PyTorch's log_softmax subtracts the max from z before it meets log Σ): [s, s-1, s-2]
    /// with target 1 is log(1 + e^-1 + e^-2) + 1 = 1.4076060 at any s, [1e30, 1e30, -1e30] with target 0 is ln 2.
    /// </summary>
    [Fact]
    public void CrossEntropyKeepsItsValueAtLargeLogits()
    {
        double exact = Math.Log(1 + Math.Exp(-1) + Math.Exp(-2)) + 1;
        foreach (float s in new[] { 1e3f, 1e5f, 1e7f })
            Assert.Equal(exact, CrossEntropyLoss.Compute(new Tensor<float>([s, s - 1, s - 2], 1, 3), [1]).Value, 6);
        Assert.Equal(Math.Log(2), CrossEntropyLoss.Compute(new Tensor<float>([1e30f, 1e30f, -1e30f], 1, 3), [0]).Value, 6);
        Assert.Equal(Math.Log(2), CrossEntropyLoss.Compute(new Tensor<double>([1e30, 1e30, -1e30], 1, 3), [0]).Value, 12);
    }

    /// <summary>BCE with logits at +∞ and a target below 1: the loss is +∞ (as PyTorch), not ∞ - ∞·t = NaN.</summary>
    [Fact]
    public void BceWithLogitsAtInfinityIsInfinite()
    {
        foreach (float t in new[] { 0f, 0.5f })
            Assert.Equal(double.PositiveInfinity, BceWithLogitsLoss.Compute(new Tensor<float>([float.PositiveInfinity], 1), new Tensor<float>([t], 1)).Value);
        // PyTorch 1.13 gives NaN at (+∞, 1), (1 - t)·x = 0·∞: so does this.
        Assert.True(double.IsNaN(BceWithLogitsLoss.Compute(new Tensor<float>([float.PositiveInfinity], 1), new Tensor<float>([1f], 1)).Value));
    }
}
