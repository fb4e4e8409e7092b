using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>
/// One model shared by several threads, as a server shares it between requests: Predict, Infer and evaluation-mode
/// Forward give, on every thread and every call, the bits that the same call gives alone (the Lstm's buffer recycler was
/// not synchronised: shared calls gave wrong outputs and exceptions from deep inside).
/// </summary>
public class ConcurrencyTests
{
    [Theory]
    [InlineData(1, false)]
    [InlineData(4, false)]
    [InlineData(4, true)]
    public void PredictOnOneSharedModelFromFourThreadsGivesTheBitsOfAlone(int batch, bool bidirectional)
    {
        var config = new ModelConfig
        {
            Kind = ModelKind.Classification, InputSize = 8, HiddenSize = 64, NumLayers = 2, Bidirectional = bidirectional, OutputSize = 4,
        };
        var model = new SequenceModel<float>(config, seed: 1) { Training = false };
        // Each thread its own input (and a length of its own), so that a shared buffer would mix them.
        var batches = Enumerable.Range(0, 4).Select(k => new SequenceBatch<float>(
            Enumerable.Repeat(30 - k, batch).ToArray(), 30, TestUtil.Random<float>(new Rng((ulong)k + 3), batch, 30, 8))).ToArray();
        var expected = batches.Select(b => model.Predict(b).Output.Data.ToArray()).ToArray();
        int wrong = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
        {
            for (int i = 0; i < 1500; i++)
                if (!model.Predict(batches[k]).Output.Data.AsSpan().SequenceEqual(expected[k])) Interlocked.Increment(ref wrong);
        });
        Assert.Equal(0, wrong);
    }

    [Fact]
    public void InferAndEvaluationForwardOnOneSharedLstmFromFourThreads()
    {
        var lstm = new Lstm<double>(new LstmOptions { InputSize = 5, HiddenSize = 24, NumLayers = 2, BatchFirst = true }, seed: 2) { Training = false };
        var inputs = Enumerable.Range(0, 4).Select(k => TestUtil.Random<double>(new Rng((ulong)k + 9), 3 + k, 11, 5)).ToArray();  // other batch sizes: other buffer lengths
        var expected = inputs.Select(x => lstm.Forward(x).Output.Data.ToArray()).ToArray();
        int wrong = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
        {
            for (int i = 0; i < 1500; i++)
            {
                var a = i % 2 == 0 ? lstm.Infer(inputs[k]) : lstm.Forward(inputs[k]);
                if (!a.Output.Data.AsSpan().SequenceEqual(expected[k])) Interlocked.Increment(ref wrong);
            }
        });
        Assert.Equal(0, wrong);
    }
}
