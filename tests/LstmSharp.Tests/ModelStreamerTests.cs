using System.Numerics;
using LstmSharp.Models;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>
/// A whole model streamed one step at a time: each step's output equals Predict on the sequence so far, for every kind of
/// model, in float and double; the state continues a Predict and reads back as Predict's; no allocation per step; bad
/// input refused by name.
/// </summary>
public class ModelStreamerTests
{
    public static TheoryData<ModelKind, int, int> Kinds => new()
    {
        { ModelKind.Regression, 1, 0 },
        { ModelKind.SequenceRegression, 2, 0 },
        { ModelKind.Classification, 2, 5 },  // with a projection
        { ModelKind.LanguageModel, 2, 0 },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EachStepGivesPredictOnTheSequenceSoFar(ModelKind kind, int layers, int proj)
    {
        StepsMatchPredict<double>(kind, layers, proj, 1e-12);
        StepsMatchPredict<float>(kind, layers, proj, 2e-5);
    }

    private static void StepsMatchPredict<T>(ModelKind kind, int layers, int proj, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int steps = 7;
        var model = new SequenceModel<T>(Config(kind, layers, proj), seed: 3);
        var streamer = new ModelStreamer<T>(model);
        var rng = new Rng(5);
        var x = TestUtil.Random<T>(rng, 1, steps, 6);                       // [1, T, I]
        var tokens = Enumerable.Range(0, steps).Select(t => (t * 7 + 3) % 11).ToArray();
        for (int t = 0; t < steps; t++)
        {
            var output = kind == ModelKind.LanguageModel ? streamer.Step(tokens[t]).ToArray() : streamer.Step(x.Data.AsSpan(t * 6, 6)).ToArray();
            var prefix = Prefix(kind, x, tokens, t + 1);
            var expected = model.Predict(prefix).Output;                      // [1, O] or [1, t + 1, O]
            int o = expected.Dim(expected.Rank - 1);
            var last = new Tensor<T>(expected.Data[^o..], o);
            TestUtil.AssertClose($"{kind} {typeof(T).Name} step {t}", last, new Tensor<T>(output, o), tol);
        }
        // The state reads back as Predict's on the whole sequence.
        var all = model.Predict(Prefix(kind, x, tokens, steps));
        var (h, c) = streamer.GetState();
        TestUtil.AssertClose($"{kind} h", all.HN, h, tol);
        TestUtil.AssertClose($"{kind} c", all.CN, c, tol);
    }

    [Fact]
    public void AStateFromPredictOnAPromptContinuesAndResetStartsAgain()
    {
        var model = new SequenceModel<double>(Config(ModelKind.LanguageModel, 2, 0), seed: 4);
        int[] prompt = [1, 4, 2, 8], rest = [5, 7];
        var first = model.Predict(new SequenceBatch<double>([4], 4, tokens: prompt));
        var whole = model.Predict(new SequenceBatch<double>([6], 6, tokens: [.. prompt, .. rest])).Output;  // [1, 6, V]
        var streamer = new ModelStreamer<double>(model);
        Assert.True(streamer.Output.IsEmpty, "no output before a step");
        streamer.SetState(first.HN, first.CN);                                // [L, 1, P], [L, 1, H]
        streamer.Step(rest[0]);
        var logits = streamer.Step(rest[1]).ToArray();
        int v = streamer.OutputSize;
        TestUtil.AssertClose("continued", new Tensor<double>(whole.Data[^v..], v), new Tensor<double>(logits, v), 1e-12);
        Assert.Equal(logits, streamer.Output.ToArray());                    // the last step's output
        streamer.Reset();
        Assert.True(streamer.Output.IsEmpty, "no output after a reset, until a step");
        var fresh = streamer.Step(prompt[0]).ToArray();
        TestUtil.AssertClose("after reset", new Tensor<double>(first.Output.Data[..v], v), new Tensor<double>(fresh, v), 1e-12);
        // [L, P] and [L, H] are taken too.
        streamer.SetState(first.HN.Reshape(2, 16), first.CN.Reshape(2, 16));
        streamer.Step(rest[0]);
        Assert.Equal(logits, streamer.Step(rest[1]).ToArray());            // the same state and steps: the same bits
    }

    [Fact]
    public void AStepAllocatesNothing()
    {
        var lm = new ModelStreamer<float>(new SequenceModel<float>(new ModelConfig
        {
            Kind = ModelKind.LanguageModel, VocabSize = 65, EmbeddingSize = 32, HiddenSize = 128, NumLayers = 2,
        }, seed: 1));
        var forecaster = new ModelStreamer<float>(new SequenceModel<float>(new ModelConfig
        {
            Kind = ModelKind.Regression, InputSize = 3, OutputSize = 2, HiddenSize = 64, ProjSize = 16,
        }, seed: 1));
        var x = new float[3];
        for (int i = 0; i < 100; i++) { lm.Step(i % 65); forecaster.Step(x); }   // warm up (JIT tiers)
        Assert.Equal(0, TestUtil.AllocatedInAllButOneRound(() => { for (int i = 0; i < 1000; i++) lm.Step(i % 65); }));
        Assert.Equal(0, TestUtil.AllocatedInAllButOneRound(() => { for (int i = 0; i < 1000; i++) forecaster.Step(x); }));
    }

    [Fact]
    public void RefreshKeepsTheStateAndEmptiesTheOutput()
    {
        var model = new SequenceModel<double>(Config(ModelKind.Regression, 1, 0), seed: 6);
        var streamer = new ModelStreamer<double>(model);
        var x = new double[] { 0.5, -1, 2, 0.25, 0, 1 };
        streamer.Step(x);
        var (h, c) = streamer.GetState();
        model.Lstm.Parameters[0].Value.Data[0] += 1;                          // a weight changed: re-pack
        streamer.Refresh();
        Assert.True(streamer.Output.IsEmpty, "the output came from the old weights");
        var (h2, c2) = streamer.GetState();
        Assert.Equal(h.Data, h2.Data);
        Assert.Equal(c.Data, c2.Data);
        var after = streamer.Step(x).ToArray();                               // the new weights from the kept state
        var expected = model.Predict(new SequenceBatch<double>([1], 1, features: new Tensor<double>(x, 1, 1, 6)), h, c).Output;
        TestUtil.AssertClose("after refresh", expected, new Tensor<double>(after, 1, 3), 1e-12);
        Assert.Equal(6, streamer.InputSize);
        Assert.Equal(0, new ModelStreamer<double>(new SequenceModel<double>(Config(ModelKind.LanguageModel, 1, 0))).InputSize);
    }

    [Fact]
    public void BadInputIsRefusedByName()
    {
        var lm = new ModelStreamer<float>(new SequenceModel<float>(Config(ModelKind.LanguageModel, 1, 0), seed: 1));
        var regression = new ModelStreamer<float>(new SequenceModel<float>(Config(ModelKind.Regression, 1, 0), seed: 1));
        Assert.Contains("0..10, got 11", Assert.Throws<ArgumentOutOfRangeException>("token", () => lm.Step(11)).Message);
        Assert.Throws<ArgumentOutOfRangeException>("token", () => lm.Step(-1));
        Assert.Contains("call Step(int token)", Assert.Throws<InvalidOperationException>(() => lm.Step(new float[6])).Message);
        Assert.Contains("I = 6", Assert.Throws<InvalidOperationException>(() => regression.Step(3)).Message);
        Assert.Contains("expected I = 6 values, got 5", Assert.Throws<ArgumentException>("features", () => regression.Step(new float[5])).Message);
        Assert.Contains("[1, 1, 16]", Assert.Throws<ArgumentException>("h0", () => regression.SetState(Tensor<float>.Zeros(1, 2, 16), Tensor<float>.Zeros(1, 1, 16))).Message);
        Assert.Throws<ArgumentException>("c0", () => regression.SetState(Tensor<float>.Zeros(1, 16), Tensor<float>.Zeros(2, 16)));
        var bidirectional = new SequenceModel<float>(Config(ModelKind.Classification, 1, 0) with { Bidirectional = true }, seed: 1);
        Assert.Contains("Bidirectional = false", Assert.Throws<ArgumentException>("model", () => new ModelStreamer<float>(bidirectional)).Message);
        Assert.Throws<ArgumentNullException>("model", () => new ModelStreamer<float>(null!));
    }

    private static ModelConfig Config(ModelKind kind, int layers, int proj) => new()
    {
        Kind = kind, InputSize = kind == ModelKind.LanguageModel ? 0 : 6, VocabSize = kind == ModelKind.LanguageModel ? 11 : 0,
        EmbeddingSize = kind == ModelKind.LanguageModel ? 5 : 0, OutputSize = kind == ModelKind.LanguageModel ? 0 : 3,
        HiddenSize = 16, NumLayers = layers, ProjSize = proj, Dropout = layers > 1 ? 0.3 : 0, HeadDropout = 0.2,
    };

    /// <summary>The first <paramref name="steps"/> steps of the features [1, T, I] or the tokens, as a batch of one.</summary>
    private static SequenceBatch<T> Prefix<T>(ModelKind kind, Tensor<T> x, int[] tokens, int steps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (kind == ModelKind.LanguageModel) return new SequenceBatch<T>([steps], steps, tokens: tokens[..steps]);
        int i = x.Dim(2);
        return new SequenceBatch<T>([steps], steps, features: new Tensor<T>(x.Data[..(steps * i)], 1, steps, i));
    }
}

/// <summary>
/// A streamed head of V·P = 33000 · 256 multiply-adds (over Gemm's threshold) splits over two threads at every step and
/// still allocates nothing. In the process-wide collection: it asks for two threads (and no other test's product holds
/// the worker meanwhile).
/// </summary>
[Collection(nameof(ProcessWideSettings))]
public sealed class ModelStreamerSplitTests : IDisposable
{
    private readonly int _before = LstmSharp.Kernels.Parallelism.MaxThreads;

    public void Dispose() => LstmSharp.Kernels.Parallelism.MaxThreads = _before;

    [Fact]
    public void ALargeHeadSplitOverTwoThreadsAllocatesNothingPerStep()
    {
        LstmSharp.Kernels.Parallelism.MaxThreads = 2;
        var large = new ModelStreamer<float>(new SequenceModel<float>(new ModelConfig
        {
            Kind = ModelKind.LanguageModel, VocabSize = 33_000, EmbeddingSize = 4, HiddenSize = 256,
        }, seed: 1));
        for (int i = 0; i < 20; i++) large.Step(i);
        Assert.Equal(0, TestUtil.AllocatedInAllButOneRound(() => { for (int i = 0; i < 20; i++) large.Step(i); }));
    }
}
