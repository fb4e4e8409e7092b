using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>
/// Finite-difference checks in float64: the loss L = sum(output·R) + sum(h_n·Rh) + sum(c_n·Rc) with random R is
/// differentiated numerically (central differences) with respect to every parameter, input, h0 and c0 element,
/// and compared with the hand-written backward of every kernel.
/// </summary>
public class GradientCheckTests
{
    public sealed record Case(string Name, LstmOptions Options, int Batch, int Steps, bool GivenState, int[]? Lengths, bool Unbatched = false)
    {
        public override string ToString() => Name;
    }

    private static readonly Case[] Cases =
    [
        new("1 layer", new() { InputSize = 3, HiddenSize = 4 }, 2, 4, true, null),
        new("zero state, batch-first", new() { InputSize = 3, HiddenSize = 4, BatchFirst = true }, 2, 4, false, null),
        new("no bias", new() { InputSize = 2, HiddenSize = 3, Bias = false }, 2, 3, true, null),
        new("2 layers", new() { InputSize = 3, HiddenSize = 4, NumLayers = 2 }, 2, 4, true, null),
        new("bidirectional", new() { InputSize = 2, HiddenSize = 3, Bidirectional = true, BatchFirst = true }, 2, 4, true, null),
        new("projection", new() { InputSize = 3, HiddenSize = 5, ProjSize = 2, NumLayers = 2 }, 2, 3, true, null),
        new("lengths", new() { InputSize = 2, HiddenSize = 3, BatchFirst = true }, 3, 5, true, [5, 2, 3]),
        new("lengths, bidirectional, 2 layers", new() { InputSize = 2, HiddenSize = 3, NumLayers = 2, Bidirectional = true }, 3, 4, true, [1, 4, 2]),
        new("everything: 2 layers, bidirectional, projection, lengths, no bias", new() { InputSize = 3, HiddenSize = 4, ProjSize = 3, NumLayers = 2, Bidirectional = true, Bias = false, BatchFirst = true }, 2, 4, false, [4, 3]),
        new("dropout between layers", new() { InputSize = 2, HiddenSize = 3, NumLayers = 3, Dropout = 0.4 }, 2, 3, true, null),
        new("unbatched", new() { InputSize = 3, HiddenSize = 4, NumLayers = 2, Bidirectional = true }, 1, 5, true, null, Unbatched: true),
    ];

    public static TheoryData<string, string> CaseNames()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in Cases)
            foreach (var kernel in LstmKernels.All<double>()) data.Add(c.Name, kernel.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void BackwardMatchesFiniteDifferences(string name, string kernel)
    {
        var c = Cases.Single(k => k.Name == name);
        var o = c.Options;
        var rng = new Rng(2024);
        var lstm = new Lstm<double>(o, seed: 99) { Kernel = LstmKernels.ByName<double>(kernel) };
        int ld = o.NumLayers * o.NumDirections;
        int[] inShape = c.Unbatched ? [c.Steps, o.InputSize] : o.BatchFirst ? [c.Batch, c.Steps, o.InputSize] : [c.Steps, c.Batch, o.InputSize];
        int[] hShape = c.Unbatched ? [ld, o.OutputHiddenSize] : [ld, c.Batch, o.OutputHiddenSize];
        int[] cShape = c.Unbatched ? [ld, o.HiddenSize] : [ld, c.Batch, o.HiddenSize];
        var x = TestUtil.Random<double>(rng, inShape);
        var h0 = c.GivenState ? TestUtil.Random<double>(rng, hShape) : null;
        var c0 = c.GivenState ? TestUtil.Random<double>(rng, cShape) : null;
        var rngState = lstm.Random.GetState(); // the same dropout masks in every forward

        var first = lstm.Forward(x, h0, c0, c.Lengths);
        var rOut = TestUtil.Random<double>(rng, [.. first.Output.Shape]);
        var rH = TestUtil.Random<double>(rng, hShape);
        var rC = TestUtil.Random<double>(rng, cShape);

        double Loss()
        {
            lstm.Random.SetState(rngState);
            var r = lstm.Forward(x, h0, c0, c.Lengths);
            return TestUtil.Dot(r.Output, rOut) + TestUtil.Dot(r.HN, rH) + TestUtil.Dot(r.CN, rC);
        }

        lstm.Random.SetState(rngState);
        var fwd = lstm.Forward(x, h0, c0, c.Lengths);
        lstm.ZeroGrad();
        var g = lstm.Backward(fwd.Cache, rOut, rH, rC);

        var checks = new List<(string, Tensor<double>, Tensor<double>)>();
        foreach (var p in lstm.Parameters) checks.Add((p.Name, p.Value, p.Grad));
        checks.Add(("input", x, g.Input));
        if (h0 is not null) checks.Add(("h0", h0, g.H0));
        if (c0 is not null) checks.Add(("c0", c0, g.C0));
        int checkedCount = 0;
        foreach (var (what, value, grad) in checks)
        {
            for (int i = 0; i < value.Length; i++)
            {
                double numeric = TestUtil.Numeric(value.Data, i, Loss);
                double err = Math.Abs(grad.Data[i] - numeric) / Math.Max(1, Math.Abs(numeric));
                Assert.True(err < 1e-7, $"{what}[{i}]: backward {grad.Data[i]:G12}, finite difference {numeric:G12}");
                checkedCount++;
            }
        }
        Assert.True(checkedCount > 50);
        // A loss that does not depend on the parameters would make this test vacuous.
        Assert.Contains(lstm.Parameters, p => p.Grad.Data.Any(v => Math.Abs(v) > 1e-3));
    }
}
