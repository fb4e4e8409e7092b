using System.Numerics;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>
/// <see cref="Lstm{T}.Infer"/>: the results of an evaluation-mode Forward, bit for bit, on every kernel, from a cache
/// that keeps one step's gates and two steps' cell states; written into a given output; never differentiable.
/// </summary>
public class InferenceTests
{
    public static TheoryData<string, string> KernelsAndTypes() =>
        TestUtil.WithBothTypes(LstmKernels.All<float>().Select(k => k.Name));

    [Theory]
    [MemberData(nameof(KernelsAndTypes))]
    public void InferEqualsEvaluationForwardExactly(string kernel, string type)
    {
        if (type == "float") Cases<float>(kernel);
        else Cases<double>(kernel);
    }

    private static void Cases<T>(string kernel) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(31);
        // (B, T, I, H, P, L, bidirectional, batch-first, unbatched, lengths, given state). B·T·4H·P ≥ 2^20 (P = H
        // without a projection) in the cases marked "halves", which run the batch as two halves in the fast kernels
        // (one product per step); the others run the input projection of all steps at once.
        var cases = new (int B, int T, int I, int H, int P, int L, bool Bi, bool BatchFirst, bool Unbatched, int[]? Lengths, bool State)[]
        {
            (1, 5, 3, 4, 0, 1, false, false, false, null, false),
            (3, 7, 5, 17, 0, 2, false, true, false, [7, 2, 5], true),
            (3, 6, 4, 9, 5, 2, true, true, false, [1, 6, 4], true),
            (1, 6, 3, 7, 3, 1, true, false, true, null, true),
            (9, 12, 7, 67, 0, 1, false, false, false, [12, 3, 12, 7, 1, 12, 9, 12, 11], true),     // halves
            (8, 9, 5, 61, 37, 2, true, true, false, [9, 4, 9, 9, 2, 9, 8, 9], false),
            (5, 16, 3, 70, 0, 2, false, true, false, null, false),                                // halves
            (8, 16, 5, 64, 40, 2, true, true, false, [16, 4, 16, 9, 1, 16, 15, 16], true),         // halves, projection, reverse
            (9, 16, 5, 64, 40, 2, false, false, false, [16, 4, 16, 9, 1, 16, 15, 16, 2], false),  // halves, projection
            (4, 7, 3, 9, 5, 2, false, false, false, [7, 2, 7, 5], true),
            (6, 1, 3, 8, 0, 2, true, false, false, null, true),
        };
        foreach (var (b, t, i, h, p, l, bi, batchFirst, unbatched, lengths, state) in cases)
        {
            var o = new LstmOptions { InputSize = i, HiddenSize = h, ProjSize = p, NumLayers = l, Bidirectional = bi, BatchFirst = batchFirst };
            var lstm = new Lstm<T>(o, seed: 7) { Kernel = LstmKernels.ByName<T>(kernel), Training = false };
            int ld = l * o.NumDirections;
            var x = unbatched ? TestUtil.Random<T>(rng, t, i) : TestUtil.Random<T>(rng, batchFirst ? [b, t, i] : [t, b, i]);
            var h0 = state ? TestUtil.Random<T>(rng, unbatched ? [ld, o.OutputHiddenSize] : [ld, b, o.OutputHiddenSize]) : null;
            var c0 = state ? TestUtil.Random<T>(rng, unbatched ? [ld, h] : [ld, b, h]) : null;
            string what = $"{kernel} {typeof(T).Name} B={b} T={t} I={i} H={h} P={p} L={l} bi={bi} batchFirst={batchFirst} unbatched={unbatched}";

            var expected = lstm.Forward(x, h0, c0, lengths);
            var xBefore = (T[])x.Data.Clone();
            var inferred = lstm.Infer(x, h0, c0, lengths);
            Assert.True(xBefore.AsSpan().SequenceEqual(x.Data), what + ": Infer changed its input");
            Assert.True(inferred.Output.HasShape([.. expected.Output.Shape]), what);
            Assert.True(expected.Output.Data.AsSpan().SequenceEqual(inferred.Output.Data), what + ": output");
            Assert.True(expected.HN.Data.AsSpan().SequenceEqual(inferred.HN.Data), what + ": h_n");
            Assert.True(expected.CN.Data.AsSpan().SequenceEqual(inferred.CN.Data), what + ": c_n");

            // Into a given output (filled with garbage first): the same values, in that tensor.
            var into = Tensor<T>.Full(T.NaN, [.. expected.Output.Shape]);
            var written = lstm.Infer(x, h0, c0, lengths, into);
            Assert.Same(into, written.Output);
            Assert.True(expected.Output.Data.AsSpan().SequenceEqual(into.Data), what + ": output into a given tensor");
            Assert.True(expected.HN.Data.AsSpan().SequenceEqual(written.HN.Data), what + ": h_n with a given output");
        }
    }

    /// <summary>Infer applies no dropout even in training mode, and draws nothing from the dropout generator.</summary>
    [Fact]
    public void InferAppliesNoDropout()
    {
        var o = new LstmOptions { InputSize = 3, HiddenSize = 6, NumLayers = 3, Dropout = 0.5 };
        var lstm = new Lstm<double>(o, seed: 2);
        var x = TestUtil.Random<double>(new Rng(3), 4, 2, 3);
        lstm.Training = false;
        var expected = lstm.Forward(x);
        lstm.Training = true;
        var before = lstm.Random.GetState();
        var inferred = lstm.Infer(x);
        Assert.Equal(before, lstm.Random.GetState());
        Assert.Equal(expected.Output.Data, inferred.Output.Data);
        Assert.NotEqual(expected.Output.Data, lstm.Forward(x).Output.Data);  // training mode does drop (the test can fail)
    }

    [Fact]
    public void InferResultsCannotBeDifferentiated()
    {
        var lstm = new Lstm<double>(new LstmOptions { InputSize = 2, HiddenSize = 3 });
        var r = lstm.Infer(TestUtil.Random<double>(new Rng(1), 4, 1, 2));
        var e = Assert.Throws<ArgumentException>(() => lstm.Backward(r.Cache, Tensor<double>.Zeros(4, 1, 3)));
        Assert.Equal("cache", e.ParamName);
        Assert.Contains("Infer", e.Message);
    }

    [Fact]
    public void AWrongOutputIsRefusedWithItsShape()
    {
        var lstm = new Lstm<float>(new LstmOptions { InputSize = 2, HiddenSize = 3, Bidirectional = true, BatchFirst = true });
        var x = TestUtil.Random<float>(new Rng(1), 4, 5, 2);  // [B, T, I]
        var e = Assert.Throws<ArgumentException>(() => lstm.Infer(x, output: Tensor<float>.Zeros(5, 4, 6)));
        Assert.Equal("output", e.ParamName);
        Assert.Contains("[4, 5, 6]", e.Message);
        Assert.Contains("[5, 4, 6]", e.Message);
        var sameMemory = new Tensor<float>(new float[4 * 5 * 6], 4, 5, 6);
        var x2 = new Tensor<float>(sameMemory.Data, 4, 5, 6);
        var lstm6 = new Lstm<float>(new LstmOptions { InputSize = 6, HiddenSize = 3, Bidirectional = true, BatchFirst = true });
        e = Assert.Throws<ArgumentException>(() => lstm6.Infer(x2, output: sameMemory));
        Assert.Equal("output", e.ParamName);
    }

    /// <summary>An Infer between an evaluation-mode Forward and its Backward leaves that cache intact.</summary>
    [Theory]
    [MemberData(nameof(CellEquivalenceTests.KernelNames), MemberType = typeof(CellEquivalenceTests))]
    public void InferLeavesAnEvaluationCacheIntact(string kernel)
    {
        var o = new LstmOptions { InputSize = 3, HiddenSize = 40, NumLayers = 2, Bidirectional = true };
        var rng = new Rng(5);
        var x = TestUtil.Random<double>(rng, 30, 8, 3);
        var other = TestUtil.Random<double>(rng, 30, 8, 3);
        var dOut = TestUtil.Random<double>(rng, 30, 8, 80);
        var a = new Lstm<double>(o, seed: 1) { Kernel = LstmKernels.ByName<double>(kernel), Training = false };
        var b = new Lstm<double>(o, seed: 1) { Kernel = LstmKernels.ByName<double>(kernel), Training = false };
        var ra = a.Forward(x);
        var rb = b.Forward(x);
        a.Infer(other);
        var inferred = a.Infer(other);
        Assert.Equal(b.Forward(other).Output.Data, inferred.Output.Data);
        rb = b.Forward(x);
        var ga = a.Backward(ra.Cache, dOut);
        var gb = b.Backward(rb.Cache, dOut);
        Assert.Equal(gb.Input.Data, ga.Input.Data);
        for (int i = 0; i < a.Parameters.Count; i++) Assert.Equal(b.Parameters[i].Grad.Data, a.Parameters[i].Grad.Data);
    }

    /// <summary>Backward reads a time-major output gradient in place: it must leave it as it was.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BackwardLeavesTheOutputGradientAlone(bool bidirectional)
    {
        var o = new LstmOptions { InputSize = 3, HiddenSize = 40, NumLayers = 2, Bidirectional = bidirectional };
        var lstm = new Lstm<double>(o, seed: 3);
        var rng = new Rng(4);
        var x = TestUtil.Random<double>(rng, 20, 9, 3);
        var dOut = TestUtil.Random<double>(rng, 20, 9, o.NumDirections * 40);
        var before = (double[])dOut.Data.Clone();
        var r = lstm.Forward(x, lengths: [20, 3, 20, 20, 7, 20, 1, 20, 19]);
        lstm.Backward(r.Cache, dOut);
        Assert.Equal(before, dOut.Data);
    }

    /// <summary>Call after call into one output, Infer allocates a small fraction of that output (its buffers are reused).</summary>
    [Fact]
    public void RepeatedInferIntoOneOutputAllocatesLittle()
    {
        var o = new LstmOptions { InputSize = 8, HiddenSize = 64, NumLayers = 2 };
        var lstm = new Lstm<float>(o) { Training = false };
        var x = TestUtil.Random<float>(new Rng(2), 200, 16, 8);
        var y = Tensor<float>.Zeros(200, 16, 64);
        lstm.Infer(x, output: y);
        lstm.Infer(x, output: y);
        long allocated = TestUtil.AllocatedInAllButOneRound(() => lstm.Infer(x, output: y));
        Assert.True(allocated < y.Length * sizeof(float) / 8, $"Infer allocated {allocated} bytes; the output is {y.Length * sizeof(float)}");
    }

    /// <summary>
    /// Nothing is allocated per time step: Infer into a reused output, and a training Forward and Backward, allocate no
    /// more for 200 steps than for 20 (within 1 KB: a pool's occasional miss, while one allocation per step would add
    /// kilobytes), with the batch split over two threads and not. The counter is the calling thread's, which runs the
    /// first half of a split batch and the first direction.
    /// </summary>
    [Theory]
    [InlineData(64, 1)]
    [InlineData(64, 2)]
    [InlineData(1, 1)]
    public void NothingIsAllocatedPerTimeStep(int batch, int directions)
    {
        var o = new LstmOptions { InputSize = 8, HiddenSize = 64, Bidirectional = directions == 2 };
        var lstm = new Lstm<float>(o, seed: 1);
        long Infer(int steps)
        {
            lstm.Training = false;
            var x = TestUtil.Random<float>(new Rng(2), steps, batch, 8);
            var y = Tensor<float>.Zeros(steps, batch, directions * 64);
            lstm.Infer(x, output: y);
            lstm.Infer(x, output: y);
            return TestUtil.AllocatedInAllButOneRound(() => lstm.Infer(x, output: y));
        }
        long Train(int steps)
        {
            lstm.Training = true;
            var x = TestUtil.Random<float>(new Rng(2), steps, batch, 8);
            var dOut = TestUtil.Random<float>(new Rng(3), steps, batch, directions * 64);
            lstm.Backward(lstm.Forward(x).Cache, dOut);
            return TestUtil.AllocatedInAllButOneRound(() => lstm.Backward(lstm.Forward(x).Cache, dOut));
        }
        long infer20 = Infer(20), infer200 = Infer(200);
        Assert.True(infer200 <= infer20 + 1024, $"Infer allocated {infer20} bytes for 20 steps and {infer200} for 200");
        long train20 = Train(20), train200 = Train(200);
        // A training call allocates its outputs, which grow with T: [T, B, D·H] and the input gradient [T, B, I].
        long outputs = 180L * batch * (directions * 64 + 8) * sizeof(float);
        Assert.True(train200 - train20 <= outputs + 1024, $"Forward and Backward allocated {train20} bytes for 20 steps and {train200} for 200 (outputs grow by {outputs})");
    }
}
