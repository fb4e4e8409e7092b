using LstmSharp.IO;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Tensors;
using LstmSharp.Training;
using Xunit;

namespace LstmSharp.Tests;

public class ModelTests
{
    internal static SequenceDataset<T> RandomData<T>(ModelKind kind, int count, int inputSize, int outputSize, int maxLength, ulong seed)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Rng(seed);
        var samples = new List<SequenceSample<T>>();
        for (int s = 0; s < count; s++)
        {
            int n = 1 + rng.NextInt(maxLength);
            if (kind == ModelKind.LanguageModel)
            {
                int first = rng.NextInt(outputSize), stride = 1 + rng.NextInt(2); // learnable: each id follows from the one before
                var ids = Enumerable.Range(0, n + 1).Select(k => (first + stride * k) % outputSize).ToArray();
                samples.Add(new SequenceSample<T>(null, ids[..n], null, 0, ids[1..]));
                continue;
            }
            var x = new T[n * inputSize];
            rng.FillUniform(T.CreateChecked(-1), T.One, x);
            T sum = T.Zero;
            foreach (var v in x) sum += v;
            T[]? target = kind switch
            {
                ModelKind.Regression => Enumerable.Range(0, outputSize).Select(k => sum * T.CreateChecked(0.1 * (k + 1))).ToArray(),
                ModelKind.SequenceRegression => Enumerable.Range(0, n * outputSize)
                    .Select(j => x[j / outputSize * inputSize + j % outputSize % inputSize] * T.CreateChecked(0.5)).ToArray(),
                _ => null,
            };
            int label = sum > T.Zero ? 1 : 0;
            samples.Add(new SequenceSample<T>(x, null, target, label % outputSize, null));
        }
        return new SequenceDataset<T>(kind, inputSize, outputSize, samples);
    }

    internal static ModelConfig Config(ModelKind kind, int inputSize = 3, int outputSize = 2, int hidden = 5, int layers = 1,
        bool bidirectional = false, int proj = 0, double dropout = 0, double headDropout = 0) => new()
    {
        Kind = kind,
        InputSize = kind == ModelKind.LanguageModel ? 0 : inputSize,
        VocabSize = kind == ModelKind.LanguageModel ? outputSize : 0,
        EmbeddingSize = kind == ModelKind.LanguageModel ? 4 : 0,
        OutputSize = kind == ModelKind.LanguageModel ? 0 : outputSize,
        HiddenSize = hidden,
        NumLayers = layers,
        Bidirectional = bidirectional,
        ProjSize = proj,
        Dropout = dropout,
        HeadDropout = headDropout,
    };

    public static TheoryData<ModelKind, bool, int, int> GradientCases => new()
    {
        { ModelKind.Regression, false, 1, 0 },
        { ModelKind.Regression, true, 2, 0 },
        { ModelKind.Regression, true, 1, 3 },
        { ModelKind.SequenceRegression, true, 2, 0 },
        { ModelKind.Classification, false, 2, 3 },
        { ModelKind.Classification, true, 1, 0 },
        { ModelKind.LanguageModel, false, 2, 0 },
    };

    /// <summary>
    /// A batch made into the memory of the one before (as the training loop does) holds exactly what a new batch would,
    /// padding included (per-step targets too); a batch of another shape gets new memory.
    /// </summary>
    [Theory]
    [InlineData(ModelKind.Regression)]
    [InlineData(ModelKind.SequenceRegression)]
    public void MakingABatchIntoTheLastOnesMemoryGivesTheSameBatch(ModelKind kind)
    {
        var data = RandomData<float>(kind, 40, 3, 2, 6, seed: 21);
        var order = Enumerable.Range(0, 40).ToArray();
        SequenceBatch<float>? last = null;
        int reusedCount = 0;
        for (int start = 0; start < 40; start += 8)
        {
            var fresh = data.MakeBatch(order.AsSpan(start, 8));
            var reused = data.MakeBatch(order.AsSpan(start, 8), last);
            if (last is not null && last.Steps == fresh.Steps)
            {
                Assert.Same(last.Features, reused.Features);
                if (kind == ModelKind.SequenceRegression) Assert.Same(last.Targets, reused.Targets);
                reusedCount++;
            }
            Assert.Equal(fresh.Features!.Data, reused.Features!.Data);
            Assert.Equal(fresh.Lengths, reused.Lengths);
            Assert.Equal(fresh.Targets!.Data, reused.Targets!.Data);
            last = reused;
        }
        Assert.True(reusedCount > 0);
        var smaller = data.MakeBatch(order.AsSpan(0, 3), last);
        Assert.NotSame(last!.Features, smaller.Features);
        Assert.Equal(data.MakeBatch(order.AsSpan(0, 3)).Features!.Data, smaller.Features!.Data);
    }

    /// <summary>Every parameter's gradient through model, masked loss and variable lengths, against central differences in float64.</summary>
    [Theory]
    [MemberData(nameof(GradientCases))]
    public void GradientsMatchFiniteDifferences(ModelKind kind, bool bidirectional, int layers, int proj)
    {
        var model = new SequenceModel<double>(Config(kind, layers: layers, bidirectional: bidirectional, proj: proj, outputSize: 3), seed: 7) { Training = false };
        var data = RandomData<double>(kind, 4, 3, 3, 5, seed: 11);
        var batch = data.MakeBatch([0, 1, 2, 3]);
        Assert.Contains(batch.Lengths, len => len < batch.Steps); // padding is exercised
        model.ZeroGrad();
        var output = model.Forward(batch);
        model.Backward(output.Cache, model.Loss(output, batch).Gradient);
        double Loss() => model.Loss(model.Forward(batch), batch).Value;
        foreach (var p in model.Parameters)
        {
            for (int i = 0; i < p.Value.Length; i++)
            {
                double numeric = TestUtil.Numeric(p.Value.Data, i, Loss);
                double analytic = p.Grad.Data[i];
                Assert.True(Math.Abs(numeric - analytic) <= 1e-6 * Math.Max(1, Math.Abs(numeric)),
                    $"{p.Name}[{i}]: analytic {analytic}, numeric {numeric}");
            }
        }
    }

    public static TheoryData<ModelKind, string> LossCases => new()
    {
        { ModelKind.Regression, "l1" },
        { ModelKind.SequenceRegression, "huber" },
        { ModelKind.Classification, "smooth+weights" },
        { ModelKind.LanguageModel, "smooth" },
    };

    /// <summary>The other losses through the model, against central differences (float64).</summary>
    [Theory]
    [MemberData(nameof(LossCases))]
    public void LossOptionsGradientsMatchFiniteDifferences(ModelKind kind, string loss)
    {
        var options = loss switch
        {
            "l1" => new LossOptions { Regression = RegressionLoss.L1 },
            "huber" => new LossOptions { Regression = RegressionLoss.Huber, HuberDelta = 0.1 },
            "smooth+weights" => new LossOptions { LabelSmoothing = 0.2, ClassWeights = [0.5, 2.0, 1.0] },
            _ => new LossOptions { LabelSmoothing = 0.1 },
        };
        var model = new SequenceModel<double>(Config(kind, outputSize: 3, layers: 2), seed: 5) { Training = false };
        var batch = RandomData<double>(kind, 4, 3, 3, 5, seed: 13).MakeBatch([0, 1, 2, 3]);
        model.ZeroGrad();
        var output = model.Forward(batch);
        model.Backward(output.Cache, model.Loss(output, batch, options).Gradient);
        double Loss() => model.Loss(model.Forward(batch), batch, options).Value;
        Assert.NotEqual(model.Loss(output, batch).Value, Loss()); // the option changes the loss
        foreach (var p in model.Parameters)
            for (int i = 0; i < p.Value.Length; i += 3)
            {
                double numeric = TestUtil.Numeric(p.Value.Data, i, Loss);
                Assert.True(Math.Abs(numeric - p.Grad.Data[i]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)),
                    $"{loss} {p.Name}[{i}]: analytic {p.Grad.Data[i]}, numeric {numeric}");
            }
    }

    [Fact]
    public void StateDictHasPyTorchModulePrefixesAndSavesWithItsConfig()
    {
        var config = Config(ModelKind.LanguageModel, outputSize: 11, hidden: 6, layers: 2);
        var model = new SequenceModel<float>(config, seed: 3);
        Assert.Equal(
            ["embed.weight",
             "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
             "lstm.weight_ih_l1", "lstm.weight_hh_l1", "lstm.bias_ih_l1", "lstm.bias_hh_l1",
             "head.weight", "head.bias"],
            model.Parameters.Select(p => p.Name));
        string path = Path.Combine(Path.GetTempPath(), $"lstmsharp-model-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Save(path);
            var loaded = SequenceModel<float>.Load(path);
            Assert.Equal(config, loaded.Config);
            var batch = RandomData<float>(ModelKind.LanguageModel, 3, 0, 11, 6, seed: 5).MakeBatch([0, 1, 2]);
            model.Training = loaded.Training = false;
            Assert.Equal(model.Forward(batch).Output.Data, loaded.Forward(batch).Output.Data);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("model.hidden_size", "0")]
    [InlineData("model.proj_size", "9")]
    [InlineData("model.embedding_size", "-4")]
    [InlineData("model.head_dropout", "1.5")]
    public void InvalidConfigurationInAModelFileIsRefusedNamingThePathAndKey(string key, string value)
    {
        var model = new SequenceModel<float>(Config(ModelKind.LanguageModel, outputSize: 7, hidden: 6), seed: 1);
        string path = Path.Combine(Path.GetTempPath(), $"lstmsharp-model-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Save(path);
            var file = SafeTensorsFile.Load(path);
            file.Metadata[key] = value;
            file.Save(path);
            var e = Assert.Throws<InvalidDataException>(() => SequenceModel<float>.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains($"'{key}' ('{value}')", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AModelFileWhoseTensorsDoNotMatchItsMetadataIsRefusedBeforeTheModelIsBuilt()
    {
        var model = new SequenceModel<float>(Config(ModelKind.Classification, inputSize: 3, outputSize: 2, hidden: 6), seed: 1);
        string path = Path.Combine(Path.GetTempPath(), $"lstmsharp-model-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Save(path);
            var file = SafeTensorsFile.Load(path);
            file.Metadata["model.hidden_size"] = "3000"; // a model of ~150 MB, from a file of 1 KB
            file.Save(path);
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<InvalidDataException>(() => SequenceModel<float>.Load(path));
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            Assert.Contains(path, e.Message);
            Assert.Contains("'lstm.weight_ih_l0'", e.Message);
            Assert.Contains("[12000, 3]", e.Message);
            Assert.Contains("[24, 3]", e.Message);
            Assert.True(allocated < 10_000_000, $"{allocated} bytes allocated before refusing the file");

            var odd = new SafeTensorsFile(model.Config.ToMetadata());
            foreach (var p in model.Parameters.Where(p => p.Name != "head.bias")) odd.Add(SafeTensor.From(p.Name, p.Value));
            odd.Add(SafeTensor.From("extra", Tensor<float>.Zeros(1)));
            odd.Save(path);
            e = Assert.Throws<InvalidDataException>(() => SequenceModel<float>.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("'head.bias'", e.Message);
            Assert.Contains("'extra'", e.Message);

            new SequenceModel<double>(model.Config, seed: 1).Save(path);
            e = Assert.Throws<InvalidDataException>(() => SequenceModel<float>.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("expected dtype F32 for Single weights, but 'lstm.weight_ih_l0' is F64", e.Message);
            Assert.Contains("(load it as double)", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(ModelKind.LanguageModel, false, 2, 0)]
    [InlineData(ModelKind.Regression, true, 3, 2)]
    [InlineData(ModelKind.SequenceRegression, true, 1, 0)]
    public void ExpectedParameterShapesAreTheBuiltModelsShapes(ModelKind kind, bool bidirectional, int layers, int proj)
    {
        var config = Config(kind, hidden: 5, layers: layers, bidirectional: bidirectional, proj: proj);
        var model = new SequenceModel<float>(config);
        Assert.Equal(model.Parameters.Select(p => (p.Name, string.Join(",", p.Value.Shape))),
            SequenceModel<float>.ParameterShapes(config).Select(s => (s.Name, string.Join(",", s.Shape))));
        var noBias = new Lstm<float>(config.LstmOptions with { Bias = false });
        Assert.Equal(noBias.Parameters.Select(p => (p.Name, string.Join(",", p.Value.Shape))),
            Lstm<float>.ParameterShapes(noBias.Options).Select(s => (s.Name, string.Join(",", s.Shape))));
    }

    [Fact]
    public void ExtraMetadataCannotOverwriteTheConfiguration()
    {
        var model = new SequenceModel<float>(Config(ModelKind.Regression, hidden: 6), seed: 1);
        string path = Path.Combine(Path.GetTempPath(), $"lstmsharp-model-{Guid.NewGuid():N}.safetensors");
        try
        {
            var e = Assert.Throws<ArgumentException>(() => model.Save(path, new Dictionary<string, string> { ["note"] = "x", ["model.hidden_size"] = "9" }));
            Assert.Equal("extraMetadata", e.ParamName);
            Assert.Contains("'model.hidden_size'", e.Message);
            Assert.False(File.Exists(path));
            model.Save(path, new Dictionary<string, string> { ["cli.task"] = "regress", ["modelling"] = "fine" });
            Assert.Equal("regress", SafeTensorsFile.Load(path).Metadata["cli.task"]);
            Assert.Equal(model.Config, SequenceModel<float>.Load(path).Config);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void SequenceToOneReadsEachSequencesLastValidStep()
    {
        // A padded sequence must give the same prediction as the same sequence alone, unpadded.
        var model = new SequenceModel<double>(Config(ModelKind.Regression, bidirectional: true, layers: 2), seed: 1) { Training = false };
        var data = RandomData<double>(ModelKind.Regression, 2, 3, 2, 6, seed: 4);
        var both = model.Forward(data.MakeBatch([0, 1])).Output;
        for (int s = 0; s < 2; s++)
        {
            var alone = model.Forward(data.MakeBatch([s])).Output;
            TestUtil.AssertClose($"sample {s}", alone, new Tensor<double>(both.Data.AsSpan(s * 2, 2).ToArray(), 1, 2), 1e-14);
        }
    }

    [Fact]
    public void ChunksWithCarriedStateEqualTheWholeSequence()
    {
        var model = new SequenceModel<double>(Config(ModelKind.LanguageModel, outputSize: 7, layers: 2), seed: 2) { Training = false };
        var batch = RandomData<double>(ModelKind.LanguageModel, 3, 0, 7, 9, seed: 8).MakeBatch([0, 1, 2]);
        var whole = model.Forward(batch).Output;                      // [B, T, V]
        Tensor<double>? h = null, c = null;
        for (int start = 0; start < batch.Steps; start += 4)
        {
            var part = batch.SliceSteps(start, 4);
            var output = model.Forward(part, h, c);
            (h, c) = (output.HN, output.CN);
            for (int b = 0; b < batch.Size; b++)
                for (int t = 0; t < part.Lengths[b]; t++)
                    for (int v = 0; v < 7; v++)
                        Assert.True(Math.Abs(whole[b, start + t, v] - output.Output[b, t, v]) <= 1e-12);
        }
    }

    /// <summary>
    /// Predict gives an evaluation-mode Forward's outputs exactly, for every kind, with dropout configured and the model
    /// left in training mode; and its result cannot be differentiated.
    /// </summary>
    [Theory]
    [InlineData(ModelKind.Regression, true)]
    [InlineData(ModelKind.SequenceRegression, false)]
    [InlineData(ModelKind.Classification, true)]
    [InlineData(ModelKind.LanguageModel, false)]
    public void PredictEqualsAnEvaluationForwardAndKeepsNoCache(ModelKind kind, bool bidirectional)
    {
        var model = new SequenceModel<double>(Config(kind, outputSize: 7, layers: 2, bidirectional: bidirectional, dropout: 0.4, headDropout: 0.3), seed: 4);
        var batch = RandomData<double>(kind, 5, 3, 7, 9, seed: 6).MakeBatch([0, 1, 2, 3, 4]);
        var h0 = TestUtil.Random<double>(new Rng(1), 2 * (bidirectional ? 2 : 1), 5, 5);
        var c0 = TestUtil.Random<double>(new Rng(2), 2 * (bidirectional ? 2 : 1), 5, 5);
        model.Training = false;
        var expected = model.Forward(batch, h0, c0);
        model.Training = true;
        var predicted = model.Predict(batch, h0, c0);
        Assert.Equal(expected.Output.Data, predicted.Output.Data);
        Assert.Equal(expected.HN.Data, predicted.HN.Data);
        Assert.Equal(expected.CN.Data, predicted.CN.Data);
        Assert.NotEqual(expected.Output.Data, model.Forward(batch, h0, c0).Output.Data);  // training mode drops out
        var e = Assert.Throws<ArgumentException>(() => model.Backward(predicted.Cache, predicted.Output));
        Assert.Contains("Predict", e.Message);
    }

    [Fact]
    public void BadConfigurationsAndDataAreRefusedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => new SequenceModel<float>(Config(ModelKind.LanguageModel, outputSize: 5, bidirectional: true)));
        Assert.Contains("Bidirectional", e.Message);
        e = Assert.Throws<ArgumentException>(() => new SequenceModel<float>(Config(ModelKind.Classification, outputSize: 1)));
        Assert.Contains("OutputSize", e.Message);
        e = Assert.Throws<ArgumentException>(() => SequenceDataset<float>.ForClassification([new float[6]], 3, [4], 3));
        Assert.Contains("samples[0]", e.Message);
        Assert.Contains("label 4", e.Message);
        e = Assert.Throws<ArgumentException>(() => SequenceDataset<float>.ForRegression([new float[5]], 3, [new float[1]]));
        Assert.Contains("I = 3", e.Message);
        var model = new SequenceModel<float>(Config(ModelKind.Regression, inputSize: 3, outputSize: 1));
        var optimizer = new Optimizers.Adam<float>(model.Parameters);
        var trainer = new Trainer<float>(model, optimizer, new TrainerOptions());
        var wrong = SequenceDataset<float>.ForRegression([new float[8]], 4, [new float[1]]);
        e = Assert.Throws<ArgumentException>(() => trainer.Fit(wrong));
        Assert.Contains("I = 3", e.Message);
        var other = new SequenceModel<float>(Config(ModelKind.Regression, inputSize: 3, outputSize: 1));
        e = Assert.Throws<ArgumentException>(() => new Trainer<float>(model, new Optimizers.Adam<float>(other.Parameters), new TrainerOptions()));
        Assert.Contains("optimizer", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Trainer<float>(model, optimizer, new TrainerOptions { TbpttSteps = 5 }));
        Assert.Contains("TbpttSteps", e.Message);
    }

    [Fact]
    public void ASequenceWithNoStepInAChunkKeepsItsStateAndPaddingIdsAreIgnored()
    {
        var model = new SequenceModel<double>(Config(ModelKind.LanguageModel, outputSize: 7, layers: 2), seed: 2) { Training = false };
        var h0 = TestUtil.Random<double>(new Rng(1), 2, 2, 5);
        var c0 = TestUtil.Random<double>(new Rng(2), 2, 2, 5);
        int[] tokens = [1, 2, 3, 4, -1, 99, -5, 7];              // sequence 1 is all padding, with ids outside the vocabulary
        var batch = new SequenceBatch<double>([4, 0], 4, tokens: tokens, labels: new int[8]);
        var output = model.Forward(batch, h0, c0);
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < 5; j++)
            {
                Assert.Equal(h0[k, 1, j], output.HN[k, 1, j]);
                Assert.Equal(c0[k, 1, j], output.CN[k, 1, j]);
            }
        for (int t = 0; t < 4; t++)
            for (int v = 0; v < 7; v++)
                Assert.Equal(model.Head.Bias!.Value.Data[v], output.Output[1, t, v]); // a zero LSTM output: the head gives its bias
        var e = Assert.Throws<ArgumentException>(() => model.Loss(output, new SequenceBatch<double>([4], 4, tokens: [1, 2, 3, 4], labels: new int[4])));
        Assert.Contains("output", e.Message);
    }
}
