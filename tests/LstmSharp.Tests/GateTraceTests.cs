using LstmSharp.Layers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

public sealed class GateTraceTests
{
    [Theory]
    [InlineData(1, false, 0)]
    [InlineData(2, true, 0)]
    [InlineData(3, true, 3)]
    public void TheTracedHiddenStateIsForwardsOutput(int layers, bool bidirectional, int proj)
    {
        var lstm = new Lstm<double>(new LstmOptions { InputSize = 4, HiddenSize = 5, NumLayers = layers, Bidirectional = bidirectional, ProjSize = proj, Dropout = 0.5 }, seed: 3);
        lstm.Training = false;
        var x = Tensor<double>.Zeros(7, 4);                                     // [T, I]
        new Rng(11).FillNormal<double>(x.Data);
        var forward = lstm.Forward(x);                                           // output [T, D·P]
        var trace = GateTrace.Record(lstm, x);
        int d = bidirectional ? 2 : 1, p = proj > 0 ? proj : 5;
        Assert.Equal(layers * d, trace.Count);
        for (int dir = 0; dir < d; dir++)
        {
            var last = trace[(layers - 1) * d + dir];
            Assert.Equal((layers - 1, dir), (last.Layer, last.Direction));
            Assert.True(last.Hidden.HasShape(7, p));
            for (int t = 0; t < 7; t++)
                for (int j = 0; j < p; j++)
                    Assert.Equal(forward.Output[t, dir * p + j], last.Hidden[t, j], 12);
        }
        // The final states: forward direction at the last step, reverse at the first.
        for (int k = 0; k < layers * d; k++)
        {
            int at = trace[k].Direction == 1 ? 0 : 6;
            for (int u = 0; u < 5; u++) Assert.Equal(forward.CN[k, u], trace[k].Cell[at, u], 12);
            for (int j = 0; j < p; j++) Assert.Equal(forward.HN[k, j], trace[k].Hidden[at, j], 12);
        }
    }

    [Fact]
    public void GatesAreInTheirRangesAndFollowTheCellEquation()
    {
        var lstm = new Lstm<float>(new LstmOptions { InputSize = 3, HiddenSize = 4 }, seed: 1);
        var x = Tensor<float>.Zeros(5, 3);
        new Rng(2).FillNormal<float>(x.Data);
        var a = GateTrace.Record(lstm, x)[0];
        Assert.Equal(["i", "f", "g", "o", "c", "h"], a.Named.Select(n => n.Name));
        for (int t = 0; t < 5; t++)
            for (int u = 0; u < 4; u++)
            {
                Assert.InRange(a.InputGate[t, u], 0f, 1f);
                Assert.InRange(a.ForgetGate[t, u], 0f, 1f);
                Assert.InRange(a.OutputGate[t, u], 0f, 1f);
                Assert.InRange(a.CellCandidate[t, u], -1f, 1f);
                float previous = t == 0 ? 0 : a.Cell[t - 1, u];
                Assert.Equal(a.ForgetGate[t, u] * previous + a.InputGate[t, u] * a.CellCandidate[t, u], a.Cell[t, u], 5);
                Assert.Equal(a.OutputGate[t, u] * MathF.Tanh(a.Cell[t, u]), a.Hidden[t, u], 5);
            }
    }

    [Fact]
    public void AGivenStateIsWhereItStarts()
    {
        var lstm = new Lstm<double>(new LstmOptions { InputSize = 2, HiddenSize = 3, NumLayers = 2 }, seed: 5) { Training = false };
        var x = Tensor<double>.Zeros(4, 2);
        new Rng(6).FillNormal<double>(x.Data);
        var h0 = Tensor<double>.Zeros(2, 3);
        var c0 = Tensor<double>.Zeros(2, 3);
        new Rng(7).FillNormal<double>(h0.Data);
        new Rng(8).FillNormal<double>(c0.Data);
        var forward = lstm.Forward(x, h0, c0);
        var trace = GateTrace.Record(lstm, x, h0, c0);
        for (int t = 0; t < 4; t++)
            for (int j = 0; j < 3; j++) Assert.Equal(forward.Output[t, j], trace[1].Hidden[t, j], 12);
    }

    [Fact]
    public void AMisshapenInputIsRefusedByName()
    {
        var lstm = new Lstm<float>(new LstmOptions { InputSize = 3, HiddenSize = 4 });
        var e = Assert.Throws<ArgumentException>(() => GateTrace.Record(lstm, Tensor<float>.Zeros(5, 2)));
        Assert.Equal("input", e.ParamName);
        Assert.Throws<ArgumentException>(() => GateTrace.Record(lstm, Tensor<float>.Zeros(1, 5, 3)));
    }
}
