using System.Numerics;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>
/// Every fast kernel against the reference kernel (the oracle) on random shapes with odd sizes: forward outputs and
/// final states, and every gradient (input, h0, c0, parameters), with projection, two directions, two layers,
/// variable lengths and given initial states. Errors are max |a - b| over max |b| of each tensor.
/// </summary>
public class FastKernelTests
{
    private static readonly int[] Batches = [1, 3, 17];
    private static readonly int[] Inputs = [1, 3, 17, 37];
    private static readonly int[] Hiddens = [1, 3, 17, 37, 129];
    private static readonly int[] Steps = [1, 2, 7];

    public static TheoryData<string, string> FastKernels() =>
        TestUtil.WithBothTypes(LstmKernels.All<double>().Select(k => k.Name).Where(name => name != ReferenceLstmKernel<double>.Instance.Name));

    [Fact]
    public void AllListsTheReferenceAndEveryVariant()
    {
        var names = LstmKernels.All<float>().Select(k => k.Name).ToList();
        Assert.Equal("reference", names[0]);
        Assert.Equal(Gemm.Variants.Count + 1, names.Count);
        Assert.Contains(LstmKernels.Best<float>().Name, names);
    }

    [Theory]
    [MemberData(nameof(FastKernels))]
    public void MatchesReferenceOnRandomShapes(string kernel, string type)
    {
        if (type == "float") Compare<float>(kernel, 1e-4, cases: 24);
        else Compare<double>(kernel, 1e-10, cases: 24);
    }

    /// <summary>
    /// Saturation and NaN as the reference: huge pre-activations (±1e4, where e^z overflows) give the reference's
    /// 0, 1 and ±1 to within rounding, and a NaN in one sequence's input turns that sequence, and only it, into NaN.
    /// </summary>
    [Theory]
    [MemberData(nameof(FastKernels))]
    public void SaturatesAndPropagatesNaNAsReference(string kernel, string type)
    {
        if (type == "float") Extremes<float>(kernel, 1e-4);  // pre-activations near 1e4 carry float rounding of 1e-3
        else Extremes<double>(kernel, 1e-10);
    }

    private static void Extremes<T>(string kernelName, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var o = new LstmOptions { InputSize = 5, HiddenSize = 33 };
        var rng = new Rng(3);
        var x = TestUtil.Random<T>(rng, 4, 3, 5);  // [T, B, I]
        for (int i = 0; i < x.Length; i++) x.Data[i] *= T.CreateChecked(1e4);
        var reference = new Lstm<T>(o, seed: 2) { Kernel = ReferenceLstmKernel<T>.Instance };
        var fast = new Lstm<T>(o, seed: 2) { Kernel = LstmKernels.ByName<T>(kernelName) };
        AssertNear("saturated output", reference.Forward(x).Output, fast.Forward(x).Output, tol);

        x.Data[5] = T.NaN;  // t = 0, b = 1
        var y = fast.Forward(x).Output;  // [T, B, H]
        for (int t = 0; t < 4; t++)
            for (int b = 0; b < 3; b++)
                for (int j = 0; j < 33; j++)
                    Assert.Equal(b == 1, T.IsNaN(y.Data[(t * 3 + b) * 33 + j]));
    }

    /// <summary>
    /// Small signals keep their relative accuracy: a bias-free float LSTM of three layers fed inputs of 1e-4 (outputs
    /// near 1e-7, where tanh computed as 1 - 2 / (e^2z + 1) cancelled and gave errors of 1% to 500%), in every kernel and
    /// in the streamer, against the same weights in double through the reference kernel: max |a - b| over max |b|.
    /// </summary>
    [Theory]
    [InlineData("reference")]
    [MemberData(nameof(FastFloatKernels))]
    public void SmallSignalsKeepTheirRelativeAccuracy(string kernelName)
    {
        var o = new LstmOptions { InputSize = 5, HiddenSize = 33, NumLayers = 3, Bias = false };
        var lstm = new Lstm<float>(o, seed: 4) { Kernel = LstmKernels.ByName<float>(kernelName), Training = false };
        var exact = new Lstm<double>(o, seed: 4) { Kernel = ReferenceLstmKernel<double>.Instance, Training = false };
        exact.LoadStateDict(lstm.StateDict().ToDictionary(kv => kv.Key, kv => new Tensor<double>(kv.Value.Data.Select(v => (double)v).ToArray(), [.. kv.Value.Shape])));
        var x = TestUtil.Random<float>(new Rng(6), 6, 2, 5);  // [T, B, I]
        for (int i = 0; i < x.Length; i++) x.Data[i] *= 1e-4f;
        var expected = exact.Forward(new Tensor<double>(x.Data.Select(v => (double)v).ToArray(), 6, 2, 5)).Output;
        var actual = lstm.Forward(x).Output;
        Assert.InRange(expected.Data.Max(Math.Abs), 1e-9, 1e-5);  // the regime the test is about
        AssertNear("output", expected, new Tensor<double>(actual.Data.Select(v => (double)v).ToArray(), [.. actual.Shape]), 1e-5);
        if (kernelName != "reference") return;
        foreach (var variant in Gemm.Variants)
        {
            var streamer = new LstmStreamer<float>(lstm, variant);
            for (int t = 0; t < 6; t++)
            {
                var h = streamer.Step(x.Data.AsSpan(t * 10, 5)).ToArray();  // sequence 0
                var e = expected.Data.AsSpan(t * 2 * 33, 33).ToArray();
                AssertNear($"streamer {variant} step {t}", new Tensor<double>(e, 33), new Tensor<double>(h.Select(v => (double)v).ToArray(), 33), 1e-5);
            }
        }
    }

    public static TheoryData<string> FastFloatKernels() =>
        new(LstmKernels.All<float>().Select(k => k.Name).Where(name => name != ReferenceLstmKernel<float>.Instance.Name));

    /// <summary>Each size of each list appears, in varied combinations; every case draws its options at random.</summary>
    private static void Compare<T>(string kernelName, double tol, int cases) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var fast = LstmKernels.ByName<T>(kernelName);
        var rng = new Rng(31337);
        for (int n = 0; n < cases; n++)
        {
            int batch = Batches[n % Batches.Length];
            int input = Inputs[n % Inputs.Length];
            int hidden = Hiddens[n % Hiddens.Length];
            int steps = Steps[(n / 3) % Steps.Length];
            int flags = rng.NextInt(64);
            var options = new LstmOptions
            {
                InputSize = input,
                HiddenSize = hidden,
                ProjSize = (flags & 1) != 0 && hidden > 1 ? 1 + n % (hidden - 1) : 0,  // proj_size < hidden_size
                Bidirectional = (flags & 2) != 0,
                NumLayers = (flags & 4) != 0 ? 2 : 1,
                Bias = (flags & 8) != 0 || n % 4 == 0,
                BatchFirst = n % 2 == 0,
            };
            bool givenState = (flags & 16) != 0;
            int[]? lengths = null;
            if ((flags & 32) != 0 && steps > 1)
            {
                lengths = new int[batch];
                for (int b = 0; b < batch; b++) lengths[b] = 1 + rng.NextInt(steps);
                lengths[rng.NextInt(batch)] = steps;
            }
            string what = $"case {n}: B={batch} T={steps} I={input} H={hidden} P={options.ProjSize} L={options.NumLayers} " +
                          $"D={options.NumDirections} bias={options.Bias} state={givenState} lengths=[{(lengths is null ? "" : string.Join(",", lengths))}]";
            CompareOne<T>(fast, options, batch, steps, givenState, lengths, rng, tol, what);
        }

        // Two larger cases with everything on: several micro-tiles in every GEMM, lengths all below T in the second.
        CompareOne<T>(fast, new LstmOptions { InputSize = 37, HiddenSize = 129, NumLayers = 2, Bidirectional = true, BatchFirst = true },
            17, 7, true, [7, 3, 1, 6, 7, 2, 5, 4, 7, 1, 2, 3, 6, 5, 4, 7, 7], rng, tol, "large, bidirectional, lengths");
        CompareOne<T>(fast, new LstmOptions { InputSize = 17, HiddenSize = 37, ProjSize = 17, NumLayers = 2, Bidirectional = true },
            17, 7, true, [6, 3, 1, 6, 5, 2, 5, 4, 6, 1, 2, 3, 6, 5, 4, 2, 6], rng, tol, "projection, bidirectional, all lengths < T");
        // One direction with enough work for the batch to be split across two threads (odd B: halves of 12 and 11 rows),
        // with variable lengths falling in both halves, a projection, and two layers without bias.
        CompareOne<T>(fast, new LstmOptions { InputSize = 17, HiddenSize = 67, ProjSize = 33 },
            23, 9, true, [9, 3, 1, 8, 9, 2, 5, 4, 9, 1, 2, 3, 6, 5, 4, 7, 9, 9, 2, 8, 1, 6, 9], rng, tol, "batch split, projection, lengths");
        CompareOne<T>(fast, new LstmOptions { InputSize = 5, HiddenSize = 129, NumLayers = 2, BatchFirst = true, Bias = false },
            19, 9, false, null, rng, tol, "batch split, two layers, no bias");
        // Halves of 65 and 64 rows: each half's weight gradients are summed over chunks of 4 steps (4, 4, 4, 4, then 3).
        var many = new int[129];
        for (int b = 0; b < many.Length; b++) many[b] = 1 + rng.NextInt(19);
        many[100] = 19;
        CompareOne<T>(fast, new LstmOptions { InputSize = 13, HiddenSize = 23, Bidirectional = true },
            129, 19, true, many, rng, tol, "batch split, weight gradients in several chunks");
    }

    /// <summary>
    /// The internal shortcuts a seq-to-one model takes: Forward without the output sequence gives the same final state,
    /// and Backward without dL/d input the same parameter and state gradients, bit for bit, on every kernel.
    /// </summary>
    [Theory]
    [MemberData(nameof(AllKernels))]
    public void ShortcutsForSequenceToOneMatchTheFullPasses(string kernel)
    {
        var o = new LstmOptions { InputSize = 7, HiddenSize = 45, NumLayers = 2, Bidirectional = true, BatchFirst = true };
        var rng = new Rng(12);
        var x = TestUtil.Random<float>(rng, 21, 9, 7);
        int[] lengths = [9, 3, 1, 8, 9, 2, 5, 4, 9, 1, 2, 3, 6, 5, 4, 7, 9, 9, 2, 8, 1];
        var full = new Lstm<float>(o, seed: 4) { Kernel = LstmKernels.ByName<float>(kernel) };
        var lean = new Lstm<float>(o, seed: 4) { Kernel = LstmKernels.ByName<float>(kernel) };
        var rf = full.Forward(x, null, null, lengths);
        var rl = lean.ForwardCore(x, null, null, lengths, outputSequence: false);
        Assert.Equal(0, rl.Output.Length);
        Assert.Equal(rf.HN.Data, rl.HN.Data);
        Assert.Equal(rf.CN.Data, rl.CN.Data);
        var dHN = TestUtil.Random<float>(rng, [.. rf.HN.Shape]);
        var gf = full.Backward(rf.Cache, null, dHN);
        var gl = lean.BackwardCore(rl.Cache, null, dHN, null, inputGradient: false);
        Assert.Equal(0, gl.Input.Length);
        Assert.Contains(gf.Input.Data, v => v != 0);
        Assert.Equal(gf.H0.Data, gl.H0.Data);
        Assert.Equal(gf.C0.Data, gl.C0.Data);
        for (int i = 0; i < full.Parameters.Count; i++)
            Assert.Equal(full.Parameters[i].Grad.Data, lean.Parameters[i].Grad.Data);
    }

    public static TheoryData<string> AllKernels()
    {
        var data = new TheoryData<string>();
        foreach (var k in LstmKernels.All<float>()) data.Add(k.Name);
        return data;
    }

    private static void CompareOne<T>(ILstmKernel<T> fast, LstmOptions o, int batch, int steps, bool givenState, int[]? lengths,
        Rng rng, double tol, string what) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int ld = o.NumLayers * o.NumDirections;
        var x = TestUtil.Random<T>(rng, o.BatchFirst ? [batch, steps, o.InputSize] : [steps, batch, o.InputSize]);
        var h0 = givenState ? TestUtil.Random<T>(rng, ld, batch, o.OutputHiddenSize) : null;
        var c0 = givenState ? TestUtil.Random<T>(rng, ld, batch, o.HiddenSize) : null;
        var reference = new Lstm<T>(o, seed: 5) { Kernel = ReferenceLstmKernel<T>.Instance };
        var candidate = new Lstm<T>(o, seed: 5) { Kernel = fast };

        var r = reference.Forward(x, h0, c0, lengths);
        var f = candidate.Forward(x, h0, c0, lengths);
        AssertNear($"{what}: output", r.Output, f.Output, tol);
        AssertNear($"{what}: h_n", r.HN, f.HN, tol);
        AssertNear($"{what}: c_n", r.CN, f.CN, tol);

        var dOut = TestUtil.Random<T>(rng, [.. r.Output.Shape]);
        var dHN = TestUtil.Random<T>(rng, [.. r.HN.Shape]);
        var dCN = TestUtil.Random<T>(rng, [.. r.CN.Shape]);
        var gr = reference.Backward(r.Cache, dOut, dHN, dCN);
        var gf = candidate.Backward(f.Cache, dOut, dHN, dCN);
        AssertNear($"{what}: d input", gr.Input, gf.Input, tol);
        AssertNear($"{what}: d h0", gr.H0, gf.H0, tol);
        AssertNear($"{what}: d c0", gr.C0, gf.C0, tol);
        for (int i = 0; i < reference.Parameters.Count; i++)
            AssertNear($"{what}: d {reference.Parameters[i].Name}", reference.Parameters[i].Grad, candidate.Parameters[i].Grad, tol);
    }

    /// <summary>max |actual - expected| / max(max |expected|, tiny) ≤ tol.</summary>
    private static void AssertNear<T>(string what, Tensor<T> expected, Tensor<T> actual, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.True(actual.HasShape([.. expected.Shape]), $"{what}: shape {actual.ShapeString}, expected {expected.ShapeString}");
        double scale = 0, worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++) scale = Math.Max(scale, Math.Abs(double.CreateChecked(expected.Data[i])));
        scale = Math.Max(scale, 1e-30);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = Math.Abs(double.CreateChecked(actual.Data[i]) - double.CreateChecked(expected.Data[i])) / scale;
            if (double.IsNaN(e)) Assert.Fail($"{what}: NaN at {i} (actual {actual.Data[i]}, expected {expected.Data[i]})");
            if (e > worst) (worst, at) = (e, i);
        }
        if (!(worst <= tol))
            Assert.Fail($"{what}: max-abs-normalised error {worst:E3} > {tol:E1} at {at} (actual {actual.Data[at]}, expected {expected.Data[at]})");
    }
}
