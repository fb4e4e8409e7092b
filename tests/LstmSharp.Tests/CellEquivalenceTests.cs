using System.Numerics;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>A sequence run step by step through <see cref="LstmCell{T}"/> equals the layer, forward and backward.</summary>
public class CellEquivalenceTests
{
    public static TheoryData<string> KernelNames() => new(LstmKernels.All<double>().Select(k => k.Name));

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void StepByStepCellEqualsLayer_Float64(string kernel)
    {
        Check<double>(false, 1e-12, kernel);
        Check<double>(true, 1e-12, kernel);
    }

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void StepByStepCellEqualsLayer_Float32(string kernel) => Check<float>(true, 1e-6, kernel);

    private static void Check<T>(bool bias, double tol, string kernel) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int B = 3, Tn = 6, I = 5, H = 7;
        var rng = new Rng(5);
        var chosen = LstmKernels.ByName<T>(kernel);
        var lstm = new Lstm<T>(new LstmOptions { InputSize = I, HiddenSize = H, Bias = bias }, seed: 1) { Kernel = chosen };
        var cell = new LstmCell<T>(I, H, bias, seed: 2) { Kernel = chosen };
        cell.LoadStateDict(lstm.Parameters.ToDictionary(p => p.Name.Replace("_l0", ""), p => p.Value));

        var x = TestUtil.Random<T>(rng, Tn, B, I);
        var h0 = TestUtil.Random<T>(rng, 1, B, H);
        var c0 = TestUtil.Random<T>(rng, 1, B, H);
        var r = lstm.Forward(x, h0, c0);
        var dOut = TestUtil.Random<T>(rng, Tn, B, H);
        var dHN = TestUtil.Random<T>(rng, 1, B, H);
        var dCN = TestUtil.Random<T>(rng, 1, B, H);
        var g = lstm.Backward(r.Cache, dOut, dHN, dCN);

        // Forward, step by step.
        var h = h0.Reshape(B, H);
        var c = c0.Reshape(B, H);
        var caches = new List<LstmCellCache<T>>();
        for (int t = 0; t < Tn; t++)
        {
            var xt = new Tensor<T>(x.Data.AsSpan(t * B * I, B * I).ToArray(), B, I);
            var step = cell.Forward(xt, h, c);
            TestUtil.AssertClose($"h at t={t}", new Tensor<T>(r.Output.Data.AsSpan(t * B * H, B * H).ToArray(), B, H), step.H, tol);
            (h, c) = (step.H, step.C);
            caches.Add(step.Cache);
        }
        TestUtil.AssertClose("h_n", r.HN.Reshape(B, H), h, tol);
        TestUtil.AssertClose("c_n", r.CN.Reshape(B, H), c, tol);

        // Backward, step by step in reverse.
        var dh = dHN.Reshape(B, H).Clone();
        var dc = dCN.Reshape(B, H).Clone();
        var dx = Tensor<T>.Zeros(Tn, B, I);
        for (int t = Tn - 1; t >= 0; t--)
        {
            for (int k = 0; k < B * H; k++) dh.Data[k] += dOut.Data[t * B * H + k];
            var sg = cell.Backward(caches[t], dh, dc);
            sg.Input.Data.CopyTo(dx.Data, t * B * I);
            (dh, dc) = (sg.H0, sg.C0);
        }
        TestUtil.AssertClose("d input", g.Input, dx, tol);
        TestUtil.AssertClose("d h0", g.H0.Reshape(B, H), dh, tol);
        TestUtil.AssertClose("d c0", g.C0.Reshape(B, H), dc, tol);
        foreach (var p in cell.Parameters)
            TestUtil.AssertClose("d " + p.Name, lstm.GetParameter(p.Name + "_l0").Grad, p.Grad, tol);
    }

    [Fact]
    public void UnbatchedCellEqualsBatchOfOne()
    {
        var cell = new LstmCell<double>(3, 4, seed: 3);
        var rng = new Rng(8);
        var x = TestUtil.Random<double>(rng, 3);
        var h = TestUtil.Random<double>(rng, 4);
        var c = TestUtil.Random<double>(rng, 4);
        var one = cell.Forward(x, h, c);
        var batched = cell.Forward(x.Reshape(1, 3), h.Reshape(1, 4), c.Reshape(1, 4));
        Assert.Equal([4], one.H.Shape);
        Assert.Equal(batched.H.Data, one.H.Data);
        Assert.Equal(batched.C.Data, one.C.Data);
    }

    /// <summary>The state a step returns is the caller's: editing it (resetting a finished sequence) leaves Backward as it was.</summary>
    [Theory]
    [MemberData(nameof(KernelNames))]
    public void EditingTheReturnedStateDoesNotChangeBackward(string kernel)
    {
        var cell = new LstmCell<double>(3, 4, seed: 3) { Kernel = LstmKernels.ByName<double>(kernel) };
        var rng = new Rng(9);
        var x = TestUtil.Random<double>(rng, 2, 3);
        var h = TestUtil.Random<double>(rng, 2, 4);
        var c = TestUtil.Random<double>(rng, 2, 4);
        var dH = TestUtil.Random<double>(rng, 2, 4);
        var dC = TestUtil.Random<double>(rng, 2, 4);
        var kept = cell.Forward(x, h, c);
        var expected = cell.Backward(kept.Cache, dH, dC);
        var edited = cell.Forward(x, h, c);
        Array.Clear(edited.H.Data);
        Array.Clear(edited.C.Data);
        var actual = cell.Backward(edited.Cache, dH, dC);
        Assert.Equal(expected.Input.Data, actual.Input.Data);
        Assert.Equal(expected.H0.Data, actual.H0.Data);
        Assert.Equal(expected.C0.Data, actual.C0.Data);
    }
}
