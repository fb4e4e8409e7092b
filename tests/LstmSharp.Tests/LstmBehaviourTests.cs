using LstmSharp.Layers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>Semantics beyond the golden files: dropout, layouts, padding, initialisation.</summary>
public class LstmBehaviourTests
{
    [Fact]
    public void DropoutOnlyInTrainingAndOnlyBetweenLayers()
    {
        var o = new LstmOptions { InputSize = 4, HiddenSize = 16, NumLayers = 2, Dropout = 0.5 };
        var lstm = new Lstm<double>(o, seed: 3);
        var plain = new Lstm<double>(o with { Dropout = 0 }, seed: 3);
        var x = TestUtil.Random<double>(new Rng(1), 6, 3, 4);

        lstm.Training = false;
        Assert.Equal(plain.Forward(x).Output.Data, lstm.Forward(x).Output.Data);

        lstm.Training = true;
        var a = lstm.Forward(x);
        var b = lstm.Forward(x);
        Assert.NotEqual(plain.Forward(x).Output.Data, a.Output.Data);
        Assert.NotEqual(a.Output.Data, b.Output.Data); // fresh masks each call
        // The first layer is not affected by dropout: its final state equals the plain model's.
        Assert.Equal(plain.Forward(x).HN.Data.AsSpan(0, 3 * 16).ToArray(), a.HN.Data.AsSpan(0, 3 * 16).ToArray());
        // About half of the mask is zero, the rest scaled by 1 / (1 - p).
        var mask = a.Cache.DropoutMasks[0]!;
        double zeros = mask.Count(v => v == 0) / (double)mask.Length;
        Assert.InRange(zeros, 0.35, 0.65);
        Assert.All(mask, v => Assert.True(v == 0 || v == 2.0));

        // The same seed gives the same masks.
        var again = new Lstm<double>(o, seed: 3);
        Assert.Equal(a.Output.Data, again.Forward(x).Output.Data);
    }

    /// <summary>
    /// Dropout = 1 (PyTorch accepts it) zeroes every output of the layers below the last in training: the top layer
    /// sees zeros, so the output does not depend on the input and dL/dx is zero; in evaluation nothing is dropped.
    /// </summary>
    [Fact]
    public void DropoutOfOneCutsTheLayersApartInTraining()
    {
        var o = new LstmOptions { InputSize = 4, HiddenSize = 5, NumLayers = 2, Dropout = 1 };
        var lstm = new Lstm<double>(o, seed: 3) { Training = true };
        var x1 = TestUtil.Random<double>(new Rng(1), 6, 3, 4);
        var x2 = TestUtil.Random<double>(new Rng(2), 6, 3, 4);
        var a = lstm.Forward(x1);
        Assert.Equal(a.Output.Data, lstm.Forward(x2).Output.Data);
        Assert.All(a.Cache.DropoutMasks[0]!, v => Assert.Equal(0.0, v));
        lstm.ZeroGrad();
        var grads = lstm.Backward(a.Cache, Tensor<double>.Full(1.0, 6, 3, 5));
        Assert.All(grads.Input.Data, v => Assert.Equal(0.0, v));
        lstm.Training = false;
        Assert.NotEqual(lstm.Forward(x1).Output.Data, lstm.Forward(x2).Output.Data);
    }

    [Fact]
    public void BatchFirstAndSequenceFirstAgree()
    {
        var o = new LstmOptions { InputSize = 3, HiddenSize = 5, NumLayers = 2, Bidirectional = true };
        var seqFirst = new Lstm<double>(o, seed: 1);
        var batchFirst = new Lstm<double>(o with { BatchFirst = true }, seed: 1);
        var x = TestUtil.Random<double>(new Rng(2), 4, 3, 3); // [T, B, I]
        var xb = Tensor<double>.Zeros(3, 4, 3);
        for (int t = 0; t < 4; t++) for (int b = 0; b < 3; b++) for (int i = 0; i < 3; i++) xb[b, t, i] = x[t, b, i];
        var rs = seqFirst.Forward(x, lengths: [4, 2, 3]);
        var rb = batchFirst.Forward(xb, lengths: [4, 2, 3]);
        for (int t = 0; t < 4; t++) for (int b = 0; b < 3; b++) for (int k = 0; k < 10; k++)
            Assert.Equal(rs.Output[t, b, k], rb.Output[b, t, k]);
        Assert.Equal(rs.HN.Data, rb.HN.Data);
        Assert.Equal(rs.CN.Data, rb.CN.Data);
    }

    [Fact]
    public void PaddedSequenceEqualsTheSequenceAlone()
    {
        var o = new LstmOptions { InputSize = 2, HiddenSize = 3, Bidirectional = true, NumLayers = 2, BatchFirst = true };
        var lstm = new Lstm<double>(o, seed: 4);
        var x = TestUtil.Random<double>(new Rng(3), 2, 6, 2);
        var padded = lstm.Forward(x, lengths: [6, 3]);
        var alone = lstm.Forward(new Tensor<double>(x.Data.AsSpan(12, 6).ToArray(), 1, 3, 2));
        for (int t = 0; t < 6; t++) for (int k = 0; k < 6; k++)
            Assert.Equal(t < 3 ? alone.Output[0, t, k] : 0.0, padded.Output[1, t, k], 12);
        for (int l = 0; l < 4; l++) for (int k = 0; k < 3; k++)
        {
            Assert.Equal(alone.HN[l, 0, k], padded.HN[l, 1, k], 12);
            Assert.Equal(alone.CN[l, 0, k], padded.CN[l, 1, k], 12);
        }
    }

    /// <summary>
    /// Whatever the padded steps hold (NaN, Inf) changes nothing: output, state and every gradient equal those of zero
    /// padding, with every kernel (the weight gradient's product runs over all rows, padded ones included).
    /// </summary>
    [Theory]
    [MemberData(nameof(BufferReuseTests.KernelNames), MemberType = typeof(BufferReuseTests))]
    public void PaddedStepsAreNeverRead(string kernel)
    {
        var o = new LstmOptions { InputSize = 2, HiddenSize = 3, Bidirectional = true, NumLayers = 2, BatchFirst = true };
        var rng = new Rng(7);
        var x = TestUtil.Random<double>(rng, 2, 5, 2);
        var dOut = TestUtil.Random<double>(rng, 2, 5, 6);
        int[] lengths = [5, 2];
        var dirty = x.Data.ToArray();
        for (int t = 2; t < 5; t++) { dirty[(5 + t) * 2] = double.NaN; dirty[(5 + t) * 2 + 1] = double.PositiveInfinity; }
        for (int t = 2; t < 5; t++) { x.Data[(5 + t) * 2] = 0; x.Data[(5 + t) * 2 + 1] = 0; }
        (LstmResult<double> Result, LstmGradients<double> Grads, Lstm<double> Lstm) Run(double[] input)
        {
            var lstm = new Lstm<double>(o, seed: 4) { Kernel = LstmSharp.Kernels.LstmKernels.ByName<double>(kernel) };
            var r = lstm.Forward(new Tensor<double>(input, 2, 5, 2), lengths: lengths);
            return (r, lstm.Backward(r.Cache, dOut), lstm);
        }
        var (clean, cleanGrads, cleanLstm) = Run(x.Data);
        var (padded, paddedGrads, paddedLstm) = Run(dirty);
        Assert.Equal(clean.Output.Data, padded.Output.Data);
        Assert.Equal(clean.HN.Data, padded.HN.Data);
        Assert.Equal(cleanGrads.Input.Data, paddedGrads.Input.Data);
        for (int i = 0; i < cleanLstm.Parameters.Count; i++)
            Assert.Equal(cleanLstm.Parameters[i].Grad.Data, paddedLstm.Parameters[i].Grad.Data);
    }

    [Fact]
    public void InitialisationIsUniformInPyTorchBoundsAndSeeded()
    {
        var o = new LstmOptions { InputSize = 10, HiddenSize = 25, ProjSize = 5, NumLayers = 2 };
        var a = new Lstm<float>(o, seed: 11);
        var b = new Lstm<float>(o, seed: 11);
        var c = new Lstm<float>(o, seed: 12);
        float bound = 1f / MathF.Sqrt(25);
        foreach (var p in a.Parameters)
        {
            Assert.All(p.Value.Data, v => Assert.InRange(v, -bound, bound));
            Assert.True(p.Value.Data.Max() > bound * 0.8 && p.Value.Data.Min() < -bound * 0.8, p.Name);
            Assert.Equal(p.Value.Data, b.GetParameter(p.Name).Value.Data);
            Assert.NotEqual(p.Value.Data, c.GetParameter(p.Name).Value.Data);
        }
        Assert.Equal(
            ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0",
             "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "weight_hr_l1"],
            a.Parameters.Select(p => p.Name));
        Assert.Equal([100, 5], a.GetParameter("weight_hh_l1").Value.Shape);
        Assert.Equal([100, 5], a.GetParameter("weight_ih_l1").Value.Shape);
        Assert.Equal([5, 25], a.GetParameter("weight_hr_l0").Value.Shape);
    }

    [Fact]
    public void ForgetGateBiasSetsTheForgetGateAtRest()
    {
        var lstm = new Lstm<double>(new LstmOptions { InputSize = 2, HiddenSize = 3, NumLayers = 2, Bidirectional = true }, seed: 1);
        lstm.SetForgetGateBias(1.0);
        foreach (var p in lstm.Parameters.Where(p => p.Name.StartsWith("weight", StringComparison.Ordinal))) Array.Clear(p.Value.Data);
        // With zero weights, c1 = f·c0 + i·g: with c0 = 1 and the candidate's bias zero (g = 0), c1 = f = σ(1) exactly.
        foreach (var p in lstm.Parameters.Where(p => p.Name.StartsWith("bias", StringComparison.Ordinal)))
        {
            Assert.Equal(p.Name.StartsWith("bias_ih", StringComparison.Ordinal) ? 1.0 : 0.0, p.Value.Data[3]);
            p.Value.Data.AsSpan(6, 3).Clear();
        }
        var r = lstm.Forward(Tensor<double>.Zeros(1, 1, 2), Tensor<double>.Zeros(4, 1, 3), Tensor<double>.Full(1.0, 4, 1, 3));
        Assert.All(r.CN.Data, c => Assert.Equal(1 / (1 + Math.Exp(-1)), c, 12));
        var noBias = new Lstm<double>(new LstmOptions { InputSize = 2, HiddenSize = 3, Bias = false });
        Assert.Throws<InvalidOperationException>(() => noBias.SetForgetGateBias(1.0));
    }

    [Fact]
    public void GradientsAccumulateUntilZeroGrad()
    {
        var lstm = new Lstm<double>(new LstmOptions { InputSize = 2, HiddenSize = 3 }, seed: 1);
        var x = TestUtil.Random<double>(new Rng(1), 4, 2, 2);
        var r = lstm.Forward(x);
        lstm.Backward(r.Cache, r.Output);
        var once = lstm.Parameters.Select(p => p.Grad.Clone()).ToList();
        lstm.Backward(r.Cache, r.Output);
        for (int k = 0; k < once.Count; k++)
            for (int i = 0; i < once[k].Length; i++)
                Assert.Equal(2 * once[k].Data[i], lstm.Parameters[k].Grad.Data[i], 12);
        lstm.ZeroGrad();
        Assert.All(lstm.Parameters, p => Assert.All(p.Grad.Data, v => Assert.Equal(0.0, v)));
    }

    [Fact]
    public void ForwardDoesNotSeeLaterEditsOfItsInput()
    {
        var lstm = new Lstm<double>(new LstmOptions { InputSize = 2, HiddenSize = 3 }, seed: 1);
        var x = TestUtil.Random<double>(new Rng(1), 4, 2, 2);
        var r = lstm.Forward(x);
        lstm.Backward(r.Cache, r.Output);
        var expected = lstm.Parameters.Select(p => p.Grad.Clone()).ToList();
        lstm.ZeroGrad();
        var r2 = lstm.Forward(x);
        Array.Fill(x.Data, 100.0);
        lstm.Backward(r2.Cache, r2.Output);
        for (int k = 0; k < expected.Count; k++) Assert.Equal(expected[k].Data, lstm.Parameters[k].Grad.Data);
    }
}
