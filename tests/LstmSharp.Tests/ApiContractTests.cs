using LstmSharp.IO;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Optimizers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>
/// The public API's contracts at its edges: exceptions of the documented type naming the caller's argument (never a
/// NullReference, IndexOutOfRange or int overflow from inside), shapes that cannot be changed from outside, element
/// types other than float and double refused up front, and files that Save writes and Load reads alike.
/// </summary>
public sealed class ApiContractTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lstmsharp-api-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TensorShapesAndIndicesAreCheckedNamingTheArgument()
    {
        Assert.Equal(0, Tensor<float>.Zeros(int.MaxValue, 0).Length);             // a zero dimension: empty, whatever the others
        Assert.Equal(0, Tensor<float>.Zeros(0, int.MaxValue).Length);
        Assert.Throws<ArgumentNullException>("shape", () => Tensor<float>.Zeros(null!));
        Assert.Throws<ArgumentNullException>("shape", () => Tensor<float>.Full(1f, null!));
        var t = Tensor<float>.Zeros(2, 3);
        Assert.IsNotType<int[]>(t.Shape);                                         // no backing array to cast back and change
        Assert.Throws<NotSupportedException>(() => ((IList<int>)t.Shape)[0] = 100);
        Assert.Equal([2, 3], t.Shape);
        Assert.Equal(3, t.Dim(-1));
        Assert.Contains("got 5", Assert.Throws<ArgumentOutOfRangeException>("axis", () => t.Dim(5)).Message);
        Assert.Throws<ArgumentOutOfRangeException>("axis", () => t.Dim(-3));
        Assert.Throws<ArgumentOutOfRangeException>("i", () => t[2, 0]);
        Assert.Throws<ArgumentOutOfRangeException>("j", () => t[0, -1] = 1f);
        Assert.Contains("[5] holds 5 elements", Assert.Throws<ArgumentException>("shape", () => t.Reshape(5)).Message);
        Assert.Equal([3, 2], t.Reshape(3, 2).Shape);
    }

    [Fact]
    public void SafeTensorsRefuseWhatTheyCouldNotReadBack()
    {
        var t = Tensor<float>.Zeros(2);
        Assert.Contains("lone UTF-16 surrogate", Assert.Throws<ArgumentException>("name", () => SafeTensor.From("bad\uD800", t)).Message);
        var file = new SafeTensorsFile(new Dictionary<string, string> { ["note"] = "half a pair \uDC00" });
        file.Add(SafeTensor.From("w", t));
        string path = Path.Combine(_dir, "surrogate.safetensors");
        Assert.Throws<ArgumentException>("Metadata", () => file.Save(path));
        Assert.False(File.Exists(path));
        // A header longer than Load reads: refused before a byte is written (the limit stood in by a small one).
        var big = new SafeTensorsFile(new Dictionary<string, string> { ["note"] = new string('a', 300) });
        using var stream = new MemoryStream();
        var e = Assert.Throws<InvalidOperationException>(() => big.WriteTo(stream, maxHeaderBytes: 256));
        Assert.Contains("more than the 256 that Load reads", e.Message);
        Assert.Equal(0, stream.Length);
        // Emoji and other well-formed text survive.
        var fine = new SafeTensorsFile(new Dictionary<string, string> { ["note"] = "😀 é" });
        fine.Add(SafeTensor.From("emoji😀", t));
        fine.Save(path);
        var back = SafeTensorsFile.Load(path);
        Assert.Equal("😀 é", back.Metadata["note"]);
        Assert.True(back.Tensors.ContainsKey("emoji😀"));

        Assert.Throws<ArgumentNullException>("shape", () => SafeTensor.FromInt64("a", [1, 2], null!));
        var u32 = new SafeTensor("u", DType.U32, [2], [0xFF, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0]);
        Assert.Equal([4294967295L, 1L], u32.ToInt64());
        Assert.Equal([65535L, 2L], new SafeTensor("v", DType.U16, [2], [0xFF, 0xFF, 2, 0]).ToInt64());
        var key = new SafeTensorsFile(new Dictionary<string, string> { ["\uD800key"] = "fine" });
        Assert.Contains("key '", Assert.Throws<ArgumentException>("Metadata", () => key.Save(path)).Message);

        // A header whose JSON escapes a lone surrogate (another writer's file): refused as invalid data, not as a JSON error.
        string lone = Path.Combine(_dir, "lone.safetensors");
        byte[] header = System.Text.Encoding.UTF8.GetBytes("{\"__metadata__\":{\"k\":\"\\ud800\"}}");
        File.WriteAllBytes(lone, [.. BitConverter.GetBytes((ulong)header.Length), .. header]);
        Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Load(lone));
    }

    [Fact]
    public void ModulesRefuseNullNamesAndTensors()
    {
        var linear = new Linear<float>(2, 3);
        Assert.Throws<ArgumentNullException>("name", () => linear.GetParameter(null!));
        var e = Assert.Throws<ArgumentException>("stateDict", () => linear.LoadStateDict(new Dictionary<string, Tensor<float>> { ["weight"] = null!, ["bias"] = Tensor<float>.Zeros(3) }));
        Assert.Contains("'weight' is null", e.Message);
    }

    /// <summary>Half (or any T but float and double) is refused when a module or optimizer is made, naming T.</summary>
    [Fact]
    public void OtherElementTypesAreRefusedUpFront()
    {
        Assert.Contains("T = Half", Assert.Throws<NotSupportedException>(() => new Lstm<Half>(new LstmOptions { InputSize = 2, HiddenSize = 3 })).Message);
        Assert.Throws<NotSupportedException>(() => new Linear<Half>(2, 3));
        Assert.Throws<NotSupportedException>(() => new Embedding<Half>(2, 3));
        Assert.Throws<NotSupportedException>(() => new LstmCell<Half>(2, 3));
        Assert.Throws<NotSupportedException>(() => new Adam<Half>([new Parameter<Half>("w", Tensor<Half>.Zeros(2))]));
    }

    /// <summary>
    /// Sizes whose products overflow an int: a clear ArgumentException naming the caller's argument, before anything
    /// large is allocated (each input here is a few MB).
    /// </summary>
    [Fact]
    public void ProductsTooLargeForOneArrayAreRefusedNamingTheArgument()
    {
        var e = Assert.Throws<ArgumentException>("NumLayers", () => new Lstm<float>(new LstmOptions { InputSize = 1, HiddenSize = 1, NumLayers = 1 << 30, Bidirectional = true }));
        Assert.Contains("parameters; LstmSharp allows at most", e.Message);
        // One layer over the limit (each of its weights fits in an array): named by its size, not by NumLayers.
        Assert.Throws<ArgumentException>("HiddenSize", () => new LstmOptions { InputSize = 1, HiddenSize = 16384, Bidirectional = true }.Validate());
        new LstmOptions { InputSize = 1, HiddenSize = 16384 }.Validate();          // 1.07 billion parameters: allowed
        Assert.Throws<ArgumentException>("input", () => new Linear<float>(1, 4096, bias: false).Forward(Tensor<float>.Zeros(1 << 20, 1)));
        Assert.Throws<ArgumentException>("ids", () => new Embedding<float>(1, 4096).Forward(new int[1 << 20]));
        Assert.Throws<ArgumentException>("outFeatures", () => new Linear<float>(100_000, 100_000));
        Assert.Throws<ArgumentException>("embeddingDim", () => new Embedding<float>(100_000, 100_000));
        var lstm = new Lstm<float>(new LstmOptions { InputSize = 1, HiddenSize = 1024, ProjSize = 1 }, seed: 1);
        e = Assert.Throws<ArgumentException>("input", () => lstm.Infer(Tensor<float>.Zeros((1 << 19) + 1, 1)));
        Assert.Contains("T·B·4H", e.Message);
        Assert.Throws<ArgumentException>("input", () => lstm.Forward(Tensor<float>.Zeros((1 << 19) + 1, 1)));
        Assert.Throws<ArgumentException>("input", () => new LstmCell<float>(1, 1024).Forward(Tensor<float>.Zeros((1 << 19) + 1, 1)));
    }

    /// <summary>The closed-form parameter count behind the limit equals the built LSTM's, across layers, directions, bias and projection.</summary>
    [Fact]
    public void TheParameterLimitCountsAsTheModel()
    {
        foreach (int layers in new[] { 1, 3 })
            foreach (bool bidirectional in new[] { false, true })
                foreach (bool bias in new[] { false, true })
                    foreach (int proj in new[] { 0, 3 })
                    {
                        var o = new LstmOptions { InputSize = 5, HiddenSize = 7, NumLayers = layers, Bidirectional = bidirectional, Bias = bias, ProjSize = proj };
                        Assert.Equal((Int128)new Lstm<float>(o).ParameterCount, o.TotalParameters());
                    }
    }

    /// <summary>
    /// A tiny file naming a huge num_layers is refused at once, with a short message, building nothing: the refusal
    /// allocates under 1 MB (it listed every missing tensor: gigabytes of names; a count of bytes, not a clock).
    /// </summary>
    [Fact]
    public void AHugeNumLayersInASmallFileIsRefusedAtOnce()
    {
        foreach (var (layers, key) in new[] { ("100000", "tensors"), ("2147483647", "num_layers") })
        {
            string path = Path.Combine(_dir, $"layers{layers}.safetensors");
            new SafeTensorsFile(new Dictionary<string, string> { ["input_size"] = "1", ["hidden_size"] = "1", ["num_layers"] = layers }).Save(path);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<InvalidDataException>(() => Lstm<float>.Load(path));
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 1 << 20, $"num_layers {layers}: the refusal allocated {allocated} bytes");
            Assert.Contains(key, e.Message);
            Assert.True(e.Message.Length < 4000, $"num_layers {layers}: a message of {e.Message.Length} characters");
        }
    }

    /// <summary>
    /// A model file whose num_layers was raised: the message lists the first missing tensors and says the configuration
    /// needs more than the file holds, without calling the file's later tensors (the head's) unexpected.
    /// </summary>
    [Fact]
    public void AnEarlyStopOfTheTensorCheckCallsNothingUnexpected()
    {
        string path = Path.Combine(_dir, "model.safetensors");
        new SequenceModel<float>(ModelTests.Config(ModelKind.Regression, layers: 2), 1).Save(path);
        var file = SafeTensorsFile.Load(path);
        string key = file.Metadata.Keys.Single(k => k.EndsWith("num_layers", StringComparison.Ordinal));
        file.Metadata[key] = "100000";
        file.Save(path);
        var e = Assert.Throws<InvalidDataException>(() => SequenceModel<float>.Load(path));
        Assert.Contains("the configuration needs more than the file's", e.Message);
        Assert.DoesNotContain("unexpected", e.Message);
    }

    /// <summary>A Backward refused for a stale cache adds nothing anywhere, the head's gradients included.</summary>
    [Fact]
    public void ARefusedModelBackwardAddsNoGradient()
    {
        var model = new SequenceModel<double>(ModelTests.Config(ModelKind.SequenceRegression, inputSize: 3, outputSize: 2, hidden: 4, layers: 2), 2);
        var data = ModelTests.RandomData<double>(ModelKind.SequenceRegression, 2, 3, 2, 4, seed: 1);
        var batch = data.MakeBatch([0, 1]);
        var forward = model.Forward(batch);
        var loss = model.Loss(forward, batch);
        model.Backward(forward.Cache, loss.Gradient);
        model.Predict(batch);                                                     // reuses the cache's buffers
        model.ZeroGrad();
        Assert.Throws<InvalidOperationException>(() => model.Backward(forward.Cache, loss.Gradient));
        Assert.All(model.Parameters, p => Assert.All(p.Grad.Data, g => Assert.Equal(0.0, g)));
    }

    [Fact]
    public void ATokenOutsideTheVocabularyIsReportedAgainstTheBatch()
    {
        var model = new SequenceModel<double>(ModelTests.Config(ModelKind.LanguageModel, outputSize: 5), 1);
        var e = Assert.Throws<ArgumentException>("batch", () => model.Predict(new SequenceBatch<double>([3, 2], 3, tokens: [0, 1, 5, 0, 1, 9])));
        Assert.Contains("Tokens[0, 2] = 5 is not a token id of the vocabulary (expected 0..4)", e.Message);
        model.Predict(new SequenceBatch<double>([3, 2], 3, tokens: [0, 1, 4, 0, 1, 9]));  // 9 is padding: never looked up
    }
}
