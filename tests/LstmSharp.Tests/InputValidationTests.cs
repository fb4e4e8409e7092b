using LstmSharp.Layers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>Bad input gets an ArgumentException naming the argument, the expected and the actual value or shape.</summary>
public class InputValidationTests
{
    private static readonly LstmOptions BatchFirst2x2 = new() { InputSize = 3, HiddenSize = 4, NumLayers = 2, Bidirectional = true, BatchFirst = true };

    private static ArgumentException Throws(Action act, string param, params string[] fragments)
    {
        var e = Assert.ThrowsAny<ArgumentException>(act);
        Assert.Equal(param, e.ParamName);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
        return e;
    }

    [Fact]
    public void WrongInputRank()
    {
        var lstm = new Lstm<float>(BatchFirst2x2);
        Throws(() => lstm.Forward(Tensor<float>.Zeros(2, 3, 4, 3)), "input", "rank 3", "[B, T, I]", "got rank 4", "[2, 3, 4, 3]");
        Throws(() => lstm.Forward(Tensor<float>.Zeros(3)), "input", "got rank 1");
    }

    [Fact]
    public void WrongFeatureSize()
    {
        var lstm = new Lstm<float>(BatchFirst2x2);
        Throws(() => lstm.Forward(Tensor<float>.Zeros(2, 5, 7)), "input", "I = 3", "got 7", "[2, 5, 7]");
        Throws(() => lstm.Forward(Tensor<float>.Zeros(5, 2)), "input", "I = 3", "got 2");
    }

    [Fact]
    public void EmptySequenceOrBatch()
    {
        var lstm = new Lstm<float>(BatchFirst2x2);
        Throws(() => lstm.Forward(Tensor<float>.Zeros(2, 0, 3)), "input", "T = 0");
        Throws(() => lstm.Forward(Tensor<float>.Zeros(0, 4, 3)), "input", "B = 0");
    }

    [Fact]
    public void StateShapesThatDoNotMatch()
    {
        var lstm = new Lstm<float>(BatchFirst2x2);
        var x = Tensor<float>.Zeros(2, 5, 3);
        // h0 must be [L*D, B, H] = [4, 2, 4].
        Throws(() => lstm.Forward(x, Tensor<float>.Zeros(2, 2, 4), Tensor<float>.Zeros(4, 2, 4)), "h0", "[L*D, B, P] = [4, 2, 4]", "got [2, 2, 4]");
        Throws(() => lstm.Forward(x, Tensor<float>.Zeros(4, 2, 4), Tensor<float>.Zeros(4, 3, 4)), "c0", "[4, 2, 4]", "got [4, 3, 4]");
        Throws(() => lstm.Forward(x, Tensor<float>.Zeros(4, 2, 4), null), "c0", "together");
        Throws(() => lstm.Forward(x, null, Tensor<float>.Zeros(4, 2, 4)), "h0", "together");
        // Unbatched input takes unbatched states [L*D, H].
        Throws(() => lstm.Forward(Tensor<float>.Zeros(5, 3), Tensor<float>.Zeros(4, 1, 4), Tensor<float>.Zeros(4, 1, 4)), "h0", "[4, 4]", "unbatched");
        // With a projection, h0 has P columns and c0 has H.
        var proj = new Lstm<float>(new LstmOptions { InputSize = 3, HiddenSize = 4, ProjSize = 2 });
        Throws(() => proj.Forward(Tensor<float>.Zeros(5, 2, 3), Tensor<float>.Zeros(1, 2, 4), Tensor<float>.Zeros(1, 2, 4)), "h0", "[1, 2, 2]", "got [1, 2, 4]");
    }

    [Fact]
    public void BadLengths()
    {
        var lstm = new Lstm<float>(BatchFirst2x2);
        var x = Tensor<float>.Zeros(3, 5, 3);
        Throws(() => lstm.Forward(x, lengths: [5, 0, 2]), "lengths", "1..T = 5", "lengths[1] = 0");
        Throws(() => lstm.Forward(x, lengths: [5, -2, 2]), "lengths", "lengths[1] = -2");
        Throws(() => lstm.Forward(x, lengths: [5, 6, 2]), "lengths", "lengths[1] = 6");
        Throws(() => lstm.Forward(x, lengths: [5, 2]), "lengths", "B = 3", "got 2");
        Throws(() => lstm.Forward(x, lengths: [5, 2, 1, 1]), "lengths", "B = 3", "got 4");
    }

    [Fact]
    public void BadOptions()
    {
        Throws(() => new Lstm<float>(new LstmOptions { InputSize = 0, HiddenSize = 4 }), "InputSize", "got 0");
        Throws(() => new Lstm<float>(new LstmOptions { InputSize = 3, HiddenSize = -1 }), "HiddenSize", "got -1");
        Throws(() => new Lstm<float>(new LstmOptions { InputSize = 3, HiddenSize = 4, NumLayers = 0 }), "NumLayers", "got 0");
        Throws(() => new Lstm<float>(new LstmOptions { InputSize = 3, HiddenSize = 4, Dropout = 1.5 }), "Dropout", "[0, 1]", "got 1.5");
        Throws(() => new Lstm<float>(new LstmOptions { InputSize = 3, HiddenSize = 4, ProjSize = 4 }), "ProjSize", "HiddenSize = 4", "got 4");
        Throws(() => new LstmCell<float>(0, 4), "inputSize", "got 0");
    }

    [Fact]
    public void SizesWhoseWeightsCannotBeHeldAreRefusedByName()
    {
        string limit = Array.MaxLength.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // 4H overflows an int (was "shape: dimensions must be non-negative").
        Throws(() => new LstmOptions { InputSize = 3, HiddenSize = 600_000_000 }.Validate(), "HiddenSize", "InputSize", "ProjSize", limit, "H = 600000000");
        // 4H·(I + H + 1) = 3.6e9 elements in W_ih and W_hh side by side.
        Throws(() => new LstmOptions { InputSize = 3, HiddenSize = 30_000 }.Validate(), "HiddenSize", limit, "H = 30000", "I = 3");
        Throws(() => new LstmOptions { InputSize = 2_000_000_000, HiddenSize = 2 }.Validate(), "HiddenSize", limit, "I = 2000000000");
        Throws(() => new LstmOptions { InputSize = 3, HiddenSize = 1_000_000, ProjSize = 1000 }.Validate(), "HiddenSize", limit, "P = 1000");
        // A layer above the first reads D·P = 28000 features: fits alone, not stacked and bidirectional.
        new LstmOptions { InputSize = 3, HiddenSize = 14_000 }.Validate();
        new LstmOptions { InputSize = 3, HiddenSize = 20_000 }.Validate();
        Throws(() => new LstmOptions { InputSize = 3, HiddenSize = 14_000, NumLayers = 2, Bidirectional = true }.Validate(), "HiddenSize", limit, "I = 28000");
        Throws(() => new LstmCell<float>(3, 30_000), "hiddenSize", "inputSize", limit);
        Throws(() => new LstmCell<float>(3, 600_000_000), "hiddenSize", limit);
        var config = new LstmSharp.Models.ModelConfig { Kind = LstmSharp.Models.ModelKind.Classification, InputSize = 3, HiddenSize = 5000, OutputSize = 1_000_000 };
        Throws(() => config.Validate(), "OutputSize", limit, "[1000000, 5000]");
        var lm = new LstmSharp.Models.ModelConfig { Kind = LstmSharp.Models.ModelKind.LanguageModel, VocabSize = 100_000, EmbeddingSize = 100_000, HiddenSize = 4 };
        Throws(() => lm.Validate(), "VocabSize", "EmbeddingSize", limit, "[100000, 100000]");
    }

    [Fact]
    public void BadBackwardArguments()
    {
        var lstm = new Lstm<float>(BatchFirst2x2);
        var r = lstm.Forward(Tensor<float>.Zeros(2, 5, 3));
        Throws(() => lstm.Backward(r.Cache, Tensor<float>.Zeros(5, 2, 8)), "dOutput", "[2, 5, 8]", "got [5, 2, 8]");
        Throws(() => lstm.Backward(r.Cache, null, Tensor<float>.Zeros(4, 2, 3)), "dHN", "[4, 2, 4]");
        Throws(() => lstm.Backward(default, null), "cache", "default");
        var other = new Lstm<float>(BatchFirst2x2);
        Throws(() => other.Backward(r.Cache, null), "cache", "another");
    }

    [Fact]
    public void CellBadInput()
    {
        var cell = new LstmCell<double>(3, 4);
        Throws(() => cell.Forward(Tensor<double>.Zeros(2, 5)), "input", "I = 3", "got 5");
        Throws(() => cell.Forward(Tensor<double>.Zeros(2, 2, 3)), "input", "got rank 3");
        Throws(() => cell.Forward(Tensor<double>.Zeros(2, 3), Tensor<double>.Zeros(3, 4), Tensor<double>.Zeros(2, 4)), "h0", "[2, 4]", "got [3, 4]");
        Throws(() => cell.Forward(Tensor<double>.Zeros(2, 3), Tensor<double>.Zeros(2, 4)), "c0", "together");
    }

    [Fact]
    public void TensorShapeMismatch()
    {
        Throws(() => new Tensor<float>(new float[5], 2, 3), "data", "6 elements", "[2, 3]", "got 5");
        Throws(() => Tensor<float>.Zeros(2, -1), "shape", "non-negative");
    }

    /// <summary>Model-level arguments found by review: each refused with the argument named, not a wrong loss or a deep exception.</summary>
    [Fact]
    public void ModelDataAndEmbeddingArguments()
    {
        // Per-step targets laid out [B, O, T] instead of [B, T, O]: the same number of values, refused.
        var model = new LstmSharp.Models.SequenceModel<double>(ModelTests.Config(LstmSharp.Models.ModelKind.SequenceRegression, outputSize: 2), seed: 1);
        var features = TestUtil.Random<double>(new Rng(1), 2, 3, 3);
        var good = new LstmSharp.Models.SequenceBatch<double>([3, 3], 3, features, targets: Tensor<double>.Zeros(2, 3, 2));
        var output = model.Forward(good);
        Throws(() => new LstmSharp.Models.SequenceBatch<double>([3, 3], 3, features, targets: Tensor<double>.Zeros(2, 2, 3)), "targets", "T = 3", "got [2, 2, 3]");
        Throws(() => model.Loss(output, new LstmSharp.Models.SequenceBatch<double>([3, 3], 3, features, targets: Tensor<double>.Zeros(2, 6))), "batch", "[2, 3, 2]", "got [2, 6]");
        // A label outside 0..C-1 (PyTorch's ignore index -100 included) at a valid step.
        var lm = new LstmSharp.Models.SequenceModel<double>(ModelTests.Config(LstmSharp.Models.ModelKind.LanguageModel, outputSize: 5), seed: 1);
        var tokens = new LstmSharp.Models.SequenceBatch<double>([3], 3, tokens: [1, 2, 3], labels: [2, -100, 4]);
        Throws(() => lm.Loss(lm.Forward(tokens), tokens), "batch", "0..4", "labels[1] = -100");
        // Regression targets whose first entry is missing; an embedding shape that does not hold the ids.
        Throws(() => LstmSharp.Training.SequenceDataset<double>.ForRegression([new double[3]], 3, [null!]), "targets", "targets[0]");
        var embedding = new Embedding<double>(7, 2, seed: 1);
        Throws(() => embedding.Forward([1, 2, 3, 4, 5, 6, 0, 1], 3, 3), "shape", "8", "[3, 3]");
        Throws(() => embedding.Forward([], -1, 0), "shape", "(0)", "[-1, 0]");
        Assert.Equal(new[] { 0, 5, 2 }, embedding.Forward([], 0, 5).Shape);  // no ids, an empty batch: a shape of product 0 is fine
        Assert.Equal(new[] { 2, 4, 2 }, embedding.Forward([1, 2, 3, 4, 5, 6, 0, 1], 2, 4).Shape);
    }

    /// <summary>
    /// Sizes whose products pass int.MaxValue, a batch's lengths changed after it was made, and data sets of an unknown
    /// kind or one class: each refused by name where it was accepted and failed later, deep inside or silently.
    /// </summary>
    [Fact]
    public void OverflowingSizesAndLengthsChangedLaterAreRefused()
    {
        // B·T = 65536² wrapped to 0 and accepted an empty token array; 50000² wrapped negative.
        Throws(() => new LstmSharp.Models.SequenceBatch<float>(new int[65536], 65536, tokens: []), "tokens", "B·T = 4294967296", "got 0");
        Throws(() => new LstmSharp.Models.SequenceBatch<float>(new int[50000], 50000, tokens: [1]), "tokens", "B·T = 2500000000", "got 1");
        Throws(() => new LstmSharp.Models.SequenceBatch<float>(new int[65536], 65536, TestUtil.Random<float>(new Rng(1), 65536, 1, 1)), "features", "[B = 65536, T = 65536, I]");
        // The batch keeps its own copy of the lengths, read-only.
        int[] lengths = [3, 3];
        var batch = new LstmSharp.Models.SequenceBatch<float>(lengths, 3, TestUtil.Random<float>(new Rng(1), 2, 3, 2));
        lengths[0] = -4;
        Assert.Equal([3, 3], batch.Lengths);
        Assert.False(batch.Lengths is int[]);
        // n·O = 65536² wrapped to 0 and accepted an empty target.
        Throws(() => LstmSharp.Training.SequenceDataset<float>.ForSequenceRegression([new float[65536]], 1, [[]], 65536), "samples", "n·O = 4294967296", "got 0");
        // A window step past int.MaxValue: one window, not an exception from deep inside.
        var lm = LstmSharp.Training.SequenceDataset<float>.ForLanguageModel([1, 2, 3, 4], int.MaxValue, 8);
        Assert.Equal(1, lm.Count);
        Assert.Equal([1, 2, 3], lm.Samples[0].Tokens!);
        Throws(() => LstmSharp.Training.SequenceDataset<float>.ForLanguageModel([1, 2, 3], 2, 0), "vocabSize", "got 0");
        Throws(() => new LstmSharp.Training.SequenceDataset<float>((LstmSharp.Models.ModelKind)9, 1, 1, []), "kind", "got 9");
        Throws(() => LstmSharp.Training.SequenceDataset<float>.ForClassification([new float[2]], 1, [0], 1), "classes", "at least 2", "got 1");
        // The batch size check counts what is allocated: [B, T, I] features for a classifier with a thousand classes.
        Assert.Equal(3_000_000, LstmSharp.Training.SequenceDataset<float>.ForClassification([new float[3_000_000]], 1, [5], 1000).MakeBatch([0]).Steps);
    }
}
