using LstmSharp.Layers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

public class StreamerTests
{
    [Theory]
    [InlineData(32, 128, 1, 0)]
    [InlineData(3, 5, 2, 0)]
    [InlineData(7, 17, 1, 3)]
    [InlineData(1, 1, 3, 0)]
    [InlineData(37, 33, 2, 9)]
    [InlineData(37, 32, 2, 9)]   // H a multiple of every vector width: the fused strips (gates interleaved), with projection
    [InlineData(4, 64, 2, 0)]
    public void StepByStepEqualsForwardOverTheWholeSequence(int inputSize, int hidden, int layers, int proj)
    {
        var lstm = new Lstm<double>(new LstmOptions { InputSize = inputSize, HiddenSize = hidden, NumLayers = layers, ProjSize = proj }, seed: 3) { Training = false };
        var x = TestUtil.Random<double>(new Rng(5), 9, inputSize);                 // [T, I] unbatched
        var expected = lstm.Forward(x);
        var streamer = new LstmStreamer<double>(lstm);
        int p = streamer.OutputSize;
        for (int t = 0; t < 9; t++)
        {
            var h = streamer.Step(x.Data.AsSpan(t * inputSize, inputSize));
            for (int k = 0; k < p; k++) Assert.True(Math.Abs(expected.Output[t, k] - h[k]) <= 1e-12, $"t={t} k={k}: {h[k]} vs {expected.Output[t, k]}");
        }
        var (hN, cN) = streamer.GetState();
        TestUtil.AssertClose("h_n", expected.HN, hN, 1e-12);
        TestUtil.AssertClose("c_n", expected.CN, cN, 1e-12);
    }

    [Fact]
    public void StateCanBeSetAndResetAndFloatMatchesDouble()
    {
        var options = new LstmOptions { InputSize = 4, HiddenSize = 24, NumLayers = 2 };
        var lstm = new Lstm<float>(options, seed: 1) { Training = false };
        var x = TestUtil.Random<float>(new Rng(2), 6, 4);
        var first = lstm.Forward(new Tensor<float>(x.Data[..12], 3, 4));
        var rest = lstm.Forward(new Tensor<float>(x.Data[12..], 3, 4), first.HN, first.CN);
        var streamer = new LstmStreamer<float>(lstm);
        streamer.SetState(first.HN, first.CN);
        for (int t = 0; t < 3; t++) streamer.Step(x.Data.AsSpan(12 + t * 4, 4));
        TestUtil.AssertClose("continued from a given state", new Tensor<float>(rest.Output.Data[^24..], 24), new Tensor<float>(streamer.Output.ToArray(), 24), 1e-5);
        streamer.Reset();
        streamer.Step(x.Data.AsSpan(0, 4));
        TestUtil.AssertClose("after reset", new Tensor<float>(first.Output.Data[..24], 24), new Tensor<float>(streamer.Output.ToArray(), 24), 1e-5);
    }

    [Fact]
    public void AStepAllocatesNothing()
    {
        var lstm = new Lstm<float>(new LstmOptions { InputSize = 32, HiddenSize = 128 }, seed: 1);
        var streamer = new LstmStreamer<float>(lstm);
        var x = new float[32];
        for (int i = 0; i < 100; i++) streamer.Step(x);                              // warm up (JIT tiers)
        // Any allocation in a step shows as at least 24 KB in every round of 1000 steps.
        Assert.Equal(0, TestUtil.AllocatedInAllButOneRound(() => { for (int i = 0; i < 1000; i++) streamer.Step(x); }));
    }

    [Fact]
    public void BadInputIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new LstmStreamer<float>(new Lstm<float>(new LstmOptions { InputSize = 2, HiddenSize = 3, Bidirectional = true })));
        Assert.Contains("bidirectional", e.Message);
        var streamer = new LstmStreamer<float>(new Lstm<float>(new LstmOptions { InputSize = 2, HiddenSize = 3 }));
        e = Assert.Throws<ArgumentException>(() => streamer.Step(new float[3]));
        Assert.Contains("I = 2", e.Message);
    }
}
