using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>The streamer against Forward, in every vector width this CPU runs (<see cref="Gemm.Variants"/>).</summary>
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
        foreach (var variant in Gemm.Variants)
        {
            var streamer = new LstmStreamer<double>(lstm, variant);
            int p = streamer.OutputSize;
            for (int t = 0; t < 9; t++)
            {
                var h = streamer.Step(x.Data.AsSpan(t * inputSize, inputSize));
                for (int k = 0; k < p; k++) Assert.True(Math.Abs(expected.Output[t, k] - h[k]) <= 1e-12, $"{variant} t={t} k={k}: {h[k]} vs {expected.Output[t, k]}");
            }
            var (hN, cN) = streamer.GetState();
            TestUtil.AssertClose($"{variant} h_n", expected.HN, hN, 1e-12);
            TestUtil.AssertClose($"{variant} c_n", expected.CN, cN, 1e-12);
        }
    }

    /// <summary>Float too: every width, fused (H = 32) or not (H = 22: no float vector width divides it), a tail of columns past the last strip (P = 5).</summary>
    [Theory]
    [InlineData(32, 0)]
    [InlineData(22, 0)]
    [InlineData(32, 5)]
    public void FloatStepsMatchForwardInEveryWidth(int hidden, int proj)
    {
        var lstm = new Lstm<float>(new LstmOptions { InputSize = 11, HiddenSize = hidden, NumLayers = 2, ProjSize = proj }, seed: 6) { Training = false };
        var x = TestUtil.Random<float>(new Rng(7), 8, 11);                         // [T, I] unbatched
        var expected = lstm.Forward(x);
        foreach (var variant in Gemm.Variants)
        {
            var streamer = new LstmStreamer<float>(lstm, variant);
            var fused = (bool)typeof(LstmStreamer<float>).GetField("_fused", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(streamer)!;
            Assert.Equal(hidden == 32, fused);                                     // the path the case is about
            int p = streamer.OutputSize;
            for (int t = 0; t < 8; t++)
            {
                var h = streamer.Step(x.Data.AsSpan(t * 11, 11));
                for (int k = 0; k < p; k++) Assert.True(Math.Abs(expected.Output[t, k] - h[k]) <= 1e-5f, $"{variant} t={t} k={k}: {h[k]} vs {expected.Output[t, k]}");
            }
        }
    }

    /// <summary>The fused strips (H a multiple of the vector width) give the bits of the product then the gate pass.</summary>
    [Theory]
    [InlineData(32, 0)]
    [InlineData(64, 5)]
    public void FusedStripsGiveTheBitsOfTheGatePass(int hidden, int proj)
    {
        FusedSameBits<float>(hidden, proj);
        FusedSameBits<double>(hidden, proj);
    }

    private static void FusedSameBits<T>(int hidden, int proj) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var lstm = new Lstm<T>(new LstmOptions { InputSize = 7, HiddenSize = hidden, NumLayers = 2, ProjSize = proj }, seed: 4) { Training = false };
        foreach (var variant in Gemm.Variants)
        {
            var fused = new LstmStreamer<T>(lstm, variant);
            var plain = new LstmStreamer<T>(lstm, variant);
            var flag = typeof(LstmStreamer<T>).GetField("_fused", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
            Assert.True((bool)flag.GetValue(fused)!, "H is a multiple of every vector width: the fused strips should be used");
            flag.SetValue(plain, false);
            plain.Refresh();
            var x = TestUtil.Random<T>(new Rng(8), 6, 7);
            for (int t = 0; t < 6; t++)
            {
                var a = fused.Step(x.Data.AsSpan(t * 7, 7)).ToArray();
                var b = plain.Step(x.Data.AsSpan(t * 7, 7)).ToArray();
                Assert.True(a.AsSpan().SequenceEqual(b), $"{typeof(T).Name} {variant} step {t}");
            }
            var (h1, c1) = fused.GetState();
            var (h2, c2) = plain.GetState();
            Assert.True(h1.Data.AsSpan().SequenceEqual(h2.Data) && c1.Data.AsSpan().SequenceEqual(c2.Data), $"{typeof(T).Name} {variant} state");
        }
    }

    [Theory]
    [InlineData(24)]
    [InlineData(32)]  // a multiple of 16: the fused strips in float with AVX-512 too
    public void StateCanBeSetAndResetAndFloatMatchesDouble(int hidden)
    {
        var options = new LstmOptions { InputSize = 4, HiddenSize = hidden, NumLayers = 2 };
        var lstm = new Lstm<float>(options, seed: 1) { Training = false };
        var x = TestUtil.Random<float>(new Rng(2), 6, 4);
        var first = lstm.Forward(new Tensor<float>(x.Data[..12], 3, 4));
        var rest = lstm.Forward(new Tensor<float>(x.Data[12..], 3, 4), first.HN, first.CN);
        var streamer = new LstmStreamer<float>(lstm);
        streamer.SetState(first.HN, first.CN);
        for (int t = 0; t < 3; t++) streamer.Step(x.Data.AsSpan(12 + t * 4, 4));
        TestUtil.AssertClose("continued from a given state", new Tensor<float>(rest.Output.Data[^hidden..], hidden), new Tensor<float>(streamer.Output.ToArray(), hidden), 1e-5);
        streamer.Reset();
        streamer.Step(x.Data.AsSpan(0, 4));
        TestUtil.AssertClose("after reset", new Tensor<float>(first.Output.Data[..hidden], hidden), new Tensor<float>(streamer.Output.ToArray(), hidden), 1e-5);
    }

    [Theory]
    [InlineData(128)]  // the fused strips
    [InlineData(22)]   // the product, then the gate pass
    public void AStepAllocatesNothing(int hidden)
    {
        var lstm = new Lstm<float>(new LstmOptions { InputSize = 32, HiddenSize = hidden }, seed: 1);
        var x = new float[32];
        foreach (var variant in Gemm.Variants)
        {
            var streamer = new LstmStreamer<float>(lstm, variant);
            for (int i = 0; i < 100; i++) streamer.Step(x);                          // warm up (JIT tiers)
            // Any allocation in a step shows as at least 24 KB in every round of 1000 steps.
            Assert.Equal(0, TestUtil.AllocatedInAllButOneRound(() => { for (int i = 0; i < 1000; i++) streamer.Step(x); }));
        }
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
