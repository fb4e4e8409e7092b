using System.Numerics;
using LstmSharp.IO;
using LstmSharp.IO.Onnx;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Tensors;
using Microsoft.ML.OnnxRuntime;
using Ort = Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>ONNX export checked against ONNX Runtime, import round trips, and refusal of bad files.</summary>
public class OnnxTests
{
    /// <summary>One exportable configuration.</summary>
    public sealed record Case(
        string Name, int Layers, bool Bidirectional, bool BatchFirst, bool Bias = true,
        bool Lengths = false, bool State = false, bool Embed = false, OnnxHeadInput? Head = null, bool HeadBias = true, bool Softmax = false)
    {
        public override string ToString() => Name;
    }

    public static readonly TheoryData<Case> Cases = new()
    {
        new Case("1 layer, seq-first", 1, false, false),
        new Case("1 layer, batch-first, lengths", 1, false, true, Lengths: true),
        new Case("2 layers, seq-first, h0/c0, no bias", 2, false, false, Bias: false, State: true),
        new Case("bidirectional, batch-first, lengths", 1, true, true, Lengths: true),
        new Case("2 layers bidirectional, seq-first, lengths, h0/c0", 2, true, false, Lengths: true, State: true),
        new Case("embedding + sequence head + softmax, 2 layers bidirectional, batch-first", 2, true, true, Embed: true, Head: OnnxHeadInput.Sequence, Softmax: true),
        new Case("embedding + final-hidden head + softmax, seq-first, lengths", 1, false, false, Lengths: true, Embed: true, Head: OnnxHeadInput.FinalHidden, Softmax: true),
        new Case("final-hidden head without bias, 2 layers bidirectional, batch-first, lengths, h0/c0", 2, true, true, Lengths: true, State: true, Head: OnnxHeadInput.FinalHidden, HeadBias: false),
        new Case("sequence head without bias, seq-first, h0/c0", 1, true, false, State: true, Head: OnnxHeadInput.Sequence, HeadBias: false),
        new Case("softmax over the LSTM output, no head", 1, false, true, Softmax: true),
    };

    private const int Input = 3, Hidden = 4, Vocab = 7, Out = 5, Batch = 3, Steps = 5;

    /// <summary>The modules, inputs and LstmSharp's outputs of one case.</summary>
    private sealed class Setup<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Setup(Case c, ulong seed = 1)
        {
            Case = c;
            var rng = new Rng(seed + 100);
            Lstm = new Lstm<T>(new LstmOptions
            {
                InputSize = Input, HiddenSize = Hidden, NumLayers = c.Layers, Bidirectional = c.Bidirectional,
                BatchFirst = c.BatchFirst, Bias = c.Bias, Dropout = c.Layers > 1 ? 0.5 : 0,
            }, seed) { Training = false };
            int d = Lstm.Options.NumDirections;
            Embedding = c.Embed ? new Embedding<T>(Vocab, Input, seed + 1) : null;
            Head = c.Head is null ? null : new Linear<T>(d * Hidden, Out, c.HeadBias, seed + 2);
            Options = new OnnxExportOptions
            {
                SequenceLengths = c.Lengths, InitialState = c.State, HeadInput = c.Head ?? OnnxHeadInput.Sequence, Softmax = c.Softmax,
            };
            int[] inShape = c.BatchFirst ? [Batch, Steps] : [Steps, Batch];
            if (c.Embed)
            {
                Ids = new long[Batch * Steps];
                for (int i = 0; i < Ids.Length; i++) Ids[i] = (long)(rng.NextDouble() * Vocab);
                IdsShape = inShape;
            }
            else
            {
                X = TestUtil.Random<T>(rng, [.. inShape, Input]);
            }
            Lengths = c.Lengths ? [Steps, 2, 4] : null;
            if (c.State)
            {
                H0 = TestUtil.Random<T>(rng, c.Layers * d, Batch, Hidden);
                C0 = TestUtil.Random<T>(rng, c.Layers * d, Batch, Hidden);
            }
        }

        public Case Case { get; }
        public Lstm<T> Lstm { get; }
        public Embedding<T>? Embedding { get; }
        public Linear<T>? Head { get; }
        public OnnxExportOptions Options { get; }
        public Tensor<T>? X { get; }
        public long[]? Ids { get; }
        public int[]? IdsShape { get; }
        public int[]? Lengths { get; }
        public Tensor<T>? H0 { get; }
        public Tensor<T>? C0 { get; }

        /// <summary>output, h_n, c_n computed by LstmSharp's modules.</summary>
        public (Tensor<T> Output, Tensor<T> HN, Tensor<T> CN) Expected()
        {
            var x = X ?? Embedding!.Forward(Ids!.Select(i => (int)i).ToArray(), IdsShape!);
            var r = Lstm.Forward(x, H0, C0, Lengths);
            var y = r.Output;
            if (Head is not null)
            {
                if (Case.Head == OnnxHeadInput.FinalHidden)
                {
                    int d = Lstm.Options.NumDirections, last = (Lstm.Options.NumLayers - 1) * d;
                    var features = Tensor<T>.Zeros(Batch, d * Hidden);
                    for (int b = 0; b < Batch; b++)
                        for (int k = 0; k < d; k++)
                            r.HN.Data.AsSpan(((last + k) * Batch + b) * Hidden, Hidden).CopyTo(features.Data.AsSpan((b * d + k) * Hidden));
                    y = Head.Forward(features);
                }
                else
                {
                    y = Head.Forward(y);
                }
            }
            if (Case.Softmax) y = Softmax(y);
            return (y, r.HN, r.CN);
        }

        /// <summary>The inputs as ONNX Runtime takes them.</summary>
        public List<NamedOnnxValue> OrtInputs()
        {
            var list = new List<NamedOnnxValue>();
            if (Ids is not null) list.Add(NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, new Ort.DenseTensor<long>(Ids, IdsShape!)));
            else list.Add(OrtValue(OnnxExporter.InputName, X!));
            if (Lengths is not null) list.Add(NamedOnnxValue.CreateFromTensor(OnnxExporter.LengthsName, new Ort.DenseTensor<int>(Lengths, [Batch])));
            if (H0 is not null)
            {
                list.Add(OrtValue(OnnxExporter.H0Name, H0));
                list.Add(OrtValue(OnnxExporter.C0Name, C0!));
            }
            return list;
        }
    }

    [Theory]
    [InlineData(ModelKind.Regression, false)]
    [InlineData(ModelKind.Classification, true)]
    [InlineData(ModelKind.SequenceRegression, false)]
    [InlineData(ModelKind.LanguageModel, true)]
    public void SequenceModelsExportAndRunInOnnxRuntime(ModelKind kind, bool bidirectionalUnlessLm)
    {
        var config = ModelTests.Config(kind, inputSize: 3, outputSize: 5, hidden: 6, layers: 2,
            bidirectional: bidirectionalUnlessLm && kind != ModelKind.LanguageModel);
        var model = new SequenceModel<float>(config, seed: 4) { Training = false };
        var batch = ModelTests.RandomData<float>(kind, 3, 3, 5, 6, seed: 2).MakeBatch([0, 1, 2]);
        Assert.Contains(batch.Lengths, n => n < batch.Steps);
        if (batch.Tokens is { } ids)  // pad with V, as PyTorch code often does: the exported graph must take it too
            for (int b = 0; b < batch.Size; b++) ids.AsSpan(b * batch.Steps + batch.Lengths[b], batch.Steps - batch.Lengths[b]).Fill(5);
        var expected = model.Forward(batch).Output;
        bool softmax = config.IsCategorical;
        var inputs = new List<NamedOnnxValue>
        {
            batch.Tokens is null
                ? OrtValue(OnnxExporter.InputName, batch.Features!)
                : NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, new Ort.DenseTensor<long>(batch.Tokens.Select(t => (long)t).ToArray(), [batch.Size, batch.Steps])),
            NamedOnnxValue.CreateFromTensor(OnnxExporter.LengthsName, new Ort.DenseTensor<int>(batch.Lengths.ToArray(), [batch.Size])),
        };
        var actual = RunOrt<float>(model.ToOnnxBytes(softmax), inputs)[OnnxExporter.OutputName];
        // Padded steps of per-step kinds are undefined in both; compare the valid ones.
        var want = softmax ? Softmax(expected) : expected;
        int o = want.Dim(-1);
        for (int b = 0; b < batch.Size; b++)
            for (int t = 0; t < (config.IsSequenceToOne ? 1 : batch.Lengths[b]); t++)
                for (int k = 0; k < o; k++)
                {
                    int at = config.IsSequenceToOne ? b * o + k : (b * batch.Steps + t) * o + k;
                    Assert.True(Math.Abs(want.Data[at] - actual.Data[at]) <= 1e-5, $"{kind} [{b},{t},{k}]: {actual.Data[at]} vs {want.Data[at]}");
                }
    }

    private static NamedOnnxValue OrtValue<T>(string name, Tensor<T> t) where T : unmanaged, IFloatingPointIeee754<T> =>
        NamedOnnxValue.CreateFromTensor(name, new Ort.DenseTensor<T>((T[])t.Data.Clone(), [.. t.Shape]));

    private static Tensor<T> Softmax<T>(Tensor<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Dim(-1);
        var y = new T[x.Length];
        for (int row = 0; row < x.Length / n; row++)
        {
            var s = x.Data.AsSpan(row * n, n);
            T max = s[0];
            foreach (var v in s) max = T.Max(max, v);
            T sum = T.Zero;
            for (int j = 0; j < n; j++) sum += y[row * n + j] = T.Exp(s[j] - max);
            for (int j = 0; j < n; j++) y[row * n + j] /= sum;
        }
        return new Tensor<T>(y, [.. x.Shape]);
    }

    /// <summary>Runs a model in ONNX Runtime; returns output, h_n and c_n.</summary>
    private static Dictionary<string, Tensor<T>> RunOrt<T>(byte[] model, List<NamedOnnxValue> inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        using var results = session.Run(inputs);
        return results.ToDictionary(r => r.Name, r =>
        {
            var t = r.AsTensor<T>();
            return new Tensor<T>(t.ToArray(), [.. t.Dimensions]);
        });
    }

    private static void AssertMatches<T>(Setup<T> s, Dictionary<string, Tensor<T>> actual, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (output, hn, cn) = s.Expected();
        TestUtil.AssertClose($"{s.Case} output", output, actual[OnnxExporter.OutputName], tolerance);
        TestUtil.AssertClose($"{s.Case} h_n", hn, actual[OnnxExporter.HNName], tolerance);
        TestUtil.AssertClose($"{s.Case} c_n", cn, actual[OnnxExporter.CNName], tolerance);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ExportedFloatModelRunsInOnnxRuntimeAsInLstmSharp(Case c)
    {
        var s = new Setup<float>(c);
        var bytes = OnnxExporter.ToBytes(s.Embedding, s.Lstm, s.Head, s.Options);
        AssertMatches(s, RunOrt<float>(bytes, s.OrtInputs()), 1e-5);
    }


    private static OnnxModelOutput<T> RunImported<T>(OnnxImportedModel<T> model, Setup<T> s) where T : unmanaged, IFloatingPointIeee754<T> =>
        s.Ids is not null
            ? model.Forward(s.Ids.Select(i => (int)i).ToArray(), s.IdsShape!, s.Lengths, s.H0, s.C0)
            : model.Forward(s.X!, s.Lengths, s.H0, s.C0);

    private static void AssertRoundTrip<T>(Setup<T> s, OnnxImportedModel<T> model, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(s.Lstm.Options with { Dropout = 0 }, model.Lstm.Options);
        Assert.Equal(s.Options, model.Options);
        Assert.Equal(s.Embedding is null, model.Embedding is null);
        Assert.Equal(s.Head is null, model.Head is null);
        Assert.Equal(s.Head?.Bias is null, model.Head?.Bias is null);
        for (int k = 0; k < s.Lstm.Parameters.Count; k++)
            Assert.Equal(s.Lstm.Parameters[k].Value.Data, model.Lstm.Parameters[k].Value.Data);
        Assert.Equal(OnnxExporter.InputName, model.InputName);
        Assert.Equal(s.Case.Lengths ? OnnxExporter.LengthsName : null, model.LengthsName);
        Assert.Equal(s.Case.State ? OnnxExporter.H0Name : null, model.H0Name);
        Assert.Equal((OnnxExporter.OutputName, OnnxExporter.HNName, OnnxExporter.CNName), (model.OutputName, model.HNName, model.CNName));
        var (output, hn, cn) = s.Expected();
        var actual = RunImported(model, s);
        TestUtil.AssertClose($"{s.Case} output", output, actual.Output, tolerance);
        TestUtil.AssertClose($"{s.Case} h_n", hn, actual.HN, tolerance);
        TestUtil.AssertClose($"{s.Case} c_n", cn, actual.CN, tolerance);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FloatModelSurvivesExportAndImport(Case c)
    {
        var s = new Setup<float>(c);
        AssertRoundTrip(s, OnnxImporter.Parse<float>(OnnxExporter.ToBytes(s.Embedding, s.Lstm, s.Head, s.Options)), 0);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DoubleModelSurvivesExportAndImport(Case c)
    {
        var s = new Setup<double>(c);
        AssertRoundTrip(s, OnnxImporter.Parse<double>(OnnxExporter.ToBytes(s.Embedding, s.Lstm, s.Head, s.Options)), 0);
    }

    [Fact]
    public void ExportWritesAFileAtomicallyThatImportReads()
    {
        var s = new Setup<float>(new Case("embedding + sequence head + softmax", 2, true, true, Lengths: true, State: true, Embed: true, Head: OnnxHeadInput.Sequence, Softmax: true));
        string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-onnx-" + Guid.NewGuid().ToString("N"));
        try
        {
            string path = Path.Combine(dir, "model.onnx");
            OnnxExporter.Export(s.Embedding, s.Lstm, s.Head, s.Options, path);
            Assert.Equal(["model.onnx"], Directory.GetFiles(dir).Select(Path.GetFileName));
            AssertRoundTrip(s, OnnxImporter.Load<float>(path), 0);
            // The imported modules and options export to the same file.
            var again = OnnxImporter.Load<float>(path);
            Assert.Equal(File.ReadAllBytes(path), OnnxExporter.ToBytes(again.Embedding, again.Lstm, again.Head, again.Options));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ImportConvertsFloatWeightsToDouble()
    {
        var s = new Setup<float>(new Case("2 layers bidirectional", 2, true, true, Lengths: true));
        var model = OnnxImporter.Parse<double>(OnnxExporter.ToBytes(s.Embedding, s.Lstm, s.Head, s.Options));
        var expected = s.Lstm.Forward(s.X!, lengths: s.Lengths).Output;
        TestUtil.AssertClose("output", expected.Cast<double>(), model.Forward(s.X!.Cast<double>(), s.Lengths).Output, 1e-5);
    }

    [Theory]
    [InlineData(14)]
    [InlineData(21)]
    public void EveryOpsetInTheRangeRunsInOnnxRuntime(int opset)
    {
        var s = new Setup<float>(new Case("2 layers bidirectional, lengths, h0/c0, head", 2, true, true, Lengths: true, State: true, Head: OnnxHeadInput.Sequence));
        var bytes = OnnxExporter.ToBytes(s.Embedding, s.Lstm, s.Head, s.Options with { OpsetVersion = opset });
        AssertMatches(s, RunOrt<float>(bytes, s.OrtInputs()), 1e-5);
        Assert.Equal(opset, OnnxImporter.Parse<float>(bytes).Options.OpsetVersion);
    }

    [Fact]
    public void LstmNodesInACycleAreRefused()
    {
        var bytes = OnnxExporter.ToBytes(null, new Lstm<float>(new LstmOptions { InputSize = 4, HiddenSize = 4, NumLayers = 2 }), null, new OnnxExportOptions());
        var model = OnnxModelProto.Parse(bytes);
        // Layer 0 reads layer 1's output, which reads layer 0's.
        model.Graph.Nodes.Single(n => n.Name == "lstm/l0").Inputs[0] = OnnxExporter.OutputName;
        var e = Assert.Throws<InvalidDataException>(() => OnnxImporter.Parse<float>(model.ToBytes()));
        Assert.Contains("cycle", e.Message);
    }

    // ---- Refusals ----

    private static byte[] SmallModel() => OnnxExporter.ToBytes(null, new Lstm<float>(new LstmOptions { InputSize = 3, HiddenSize = 4 }), null, new OnnxExportOptions());

    /// <summary>Parses the exported model's protobuf, lets <paramref name="edit"/> change it, and encodes it again.</summary>
    private static byte[] Edited(Action<OnnxModelProto> edit)
    {
        var model = OnnxModelProto.Parse(SmallModel());
        edit(model);
        return model.ToBytes();
    }

    [Fact]
    public void ProjectionIsRefusedAtExport()
    {
        var lstm = new Lstm<float>(new LstmOptions { InputSize = 3, HiddenSize = 4, ProjSize = 2 });
        var e = Assert.Throws<NotSupportedException>(() => OnnxExporter.ToBytes(null, lstm, null, new OnnxExportOptions()));
        Assert.Contains("ProjSize = 2", e.Message);
    }

    [Fact]
    public void MismatchedModulesAndOptionsAreRefusedAtExport()
    {
        var lstm = new Lstm<float>(new LstmOptions { InputSize = 3, HiddenSize = 4, Bidirectional = true });
        Assert.Contains("E = 5", Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(new Embedding<float>(7, 5), lstm, null, new OnnxExportOptions())).Message);
        Assert.Contains("D*H = 8", Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(null, lstm, new Linear<float>(4, 2), new OnnxExportOptions())).Message);
        Assert.Contains("needs a head", Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(null, lstm, null, new OnnxExportOptions { HeadInput = OnnxHeadInput.FinalHidden })).Message);
        Assert.Contains("OpsetVersion", Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(null, lstm, null, new OnnxExportOptions { OpsetVersion = 13 })).Message);
    }

    [Fact]
    public void TruncatedFileIsRefusedWherever()
    {
        var bytes = SmallModel();
        var half = Assert.Throws<InvalidDataException>(() => OnnxImporter.Parse<float>(bytes.AsSpan(0, bytes.Length / 2)));
        Assert.Contains("truncated", half.Message);
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => OnnxImporter.Parse<float>([])).Message);
        for (int length = 1; length < bytes.Length; length++)
        {
            var e = Record.Exception(() => OnnxImporter.Parse<float>(bytes.AsSpan(0, length)));
            Assert.True(e is InvalidDataException or NotSupportedException, $"cut at {length} of {bytes.Length}: {e?.GetType().Name ?? "no exception"}: {e?.Message}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CorruptBytesGiveOnlyClearErrors(bool fullModel)
    {
        var s = new Setup<float>(new Case("full", 2, true, true, Lengths: true, State: true, Embed: true, Head: OnnxHeadInput.Sequence, Softmax: true));
        var bytes = fullModel ? OnnxExporter.ToBytes(s.Embedding, s.Lstm, s.Head, s.Options) : SmallModel();
        var rng = new Rng(7);
        for (int trial = 0; trial < 300; trial++)
        {
            var copy = (byte[])bytes.Clone();
            for (int k = 0; k < 3; k++) copy[(int)(rng.NextDouble() * copy.Length)] = (byte)(rng.NextDouble() * 256);
            var e = Record.Exception(() => OnnxImporter.Parse<float>(copy));
            Assert.True(e is null or InvalidDataException or NotSupportedException, $"trial {trial}: {e?.GetType().Name}: {e?.Message}");
        }
    }

    [Fact]
    public void OldOpsetIsRefused()
    {
        var bytes = Edited(m => m.OpsetImports[0] = ("", 9));
        var e = Assert.Throws<NotSupportedException>(() => OnnxImporter.Parse<float>(bytes));
        Assert.Contains("opset 9", e.Message);
    }

    /// <summary>The exporter's Clip of a language model's ids is taken back; one that would change ids of the table is refused by name.</summary>
    [Fact]
    public void AnIdClipThatChangesIdsIsRefused()
    {
        var model = new SequenceModel<float>(ModelTests.Config(ModelKind.LanguageModel, outputSize: 7, hidden: 4), seed: 1);
        var proto = OnnxModelProto.Parse(model.ToOnnxBytes(false));
        Assert.Contains(proto.Graph.Nodes, n => n.OpType == "Clip");
        Assert.Equal(7, OnnxImporter.Parse<float>(proto.ToBytes()).Embedding!.NumEmbeddings);
        int at = proto.Graph.Initializers.FindIndex(t => t.Name == "embedding.max_id");
        proto.Graph.Initializers[at] = OnnxTensorProto.FromInt64s("embedding.max_id", [2]);
        var e = Assert.Throws<NotSupportedException>(() => OnnxImporter.Parse<float>(proto.ToBytes()));
        Assert.Contains("embedding/clip", e.Message);
        Assert.Contains("[0, 2]", e.Message);
    }

    /// <summary>
    /// An LSTM whose Y_h output is left unnamed (""), read by the head through that empty name: a missing tensor, not the
    /// final hidden state (the importer took it for h_n; ONNX Runtime refuses such a graph).
    /// </summary>
    [Fact]
    public void AnEmptyOutputNameIsNotTheFinalHiddenState()
    {
        var model = new SequenceModel<float>(ModelTests.Config(ModelKind.Regression, inputSize: 2, outputSize: 1, hidden: 4), seed: 4);
        var proto = OnnxModelProto.Parse(model.ToOnnxBytes(false));
        var lstm = proto.Graph.Nodes.Single(n => n.OpType == "LSTM");
        string yh = lstm.Outputs[1];
        lstm.Outputs[1] = "";
        foreach (var n in proto.Graph.Nodes)
            for (int i = 0; i < n.Inputs.Count; i++)
                if (n.Inputs[i] == yh) n.Inputs[i] = "";
        Assert.ThrowsAny<Exception>(() => OnnxImporter.Parse<float>(proto.ToBytes()));
        Assert.Equal(OnnxHeadInput.FinalHidden, OnnxImporter.Parse<float>(model.ToOnnxBytes(false)).Options.HeadInput);  // the graph as exported
    }

    /// <summary>An imported model with a head on the final hidden state takes a batch; a rank-2 input is refused by name (it failed deep inside).</summary>
    [Fact]
    public void AnImportedModelRefusesAnUnbatchedInputByName()
    {
        var model = new SequenceModel<float>(ModelTests.Config(ModelKind.Regression, inputSize: 2, outputSize: 1, hidden: 4), seed: 4) { Training = false };
        var imported = OnnxImporter.Parse<float>(model.ToOnnxBytes(false));
        var e = Assert.Throws<ArgumentException>(() => imported.Forward(Tensor<float>.Zeros(4, 2)));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("expected rank 3", e.Message);
        // A per-step head takes an unbatched [T, I] sequence, as the LSTM does.
        var perStep = new SequenceModel<float>(ModelTests.Config(ModelKind.SequenceRegression, inputSize: 2, outputSize: 1, hidden: 4), seed: 4) { Training = false };
        Assert.Equal([5, 1], OnnxImporter.Parse<float>(perStep.ToOnnxBytes(false)).Forward(Tensor<float>.Zeros(5, 2)).Output.Shape);
    }

    /// <summary>
    /// A language model exported with lengths, imported back, takes padding ids the graph takes (-1, V: its Clip) and gives
    /// Predict's outputs on the valid steps; a valid id outside the vocabulary is still refused.
    /// </summary>
    [Fact]
    public void AnImportedLanguageModelTakesPaddingIdsAsTheGraph()
    {
        var model = new SequenceModel<float>(ModelTests.Config(ModelKind.LanguageModel, outputSize: 9, hidden: 4), seed: 4) { Training = false };
        var imported = OnnxImporter.Parse<float>(model.ToOnnxBytes(false));
        int[] lengths = [2, 5];
        int[] ids = [1, 2, -1, 9, -1, 1, 2, 3, 4, 5];                                // [B = 2, T = 5], padding -1 and V = 9
        var expected = model.Predict(new SequenceBatch<float>(lengths, 5, tokens: ids)).Output;  // [2, 5, 9]
        var actual = imported.Forward(ids, [2, 5], lengths).Output;
        // The graph itself, in ONNX Runtime, on the same ids (its Clip takes -1 and V): the same valid steps.
        var graph = RunOrt<float>(model.ToOnnxBytes(false), [
            NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, new Ort.DenseTensor<long>(ids.Select(i => (long)i).ToArray(), [2, 5])),
            NamedOnnxValue.CreateFromTensor(OnnxExporter.LengthsName, new Ort.DenseTensor<int>(lengths.ToArray(), [2])),
        ])[OnnxExporter.OutputName];
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < lengths[b]; t++)
                for (int k = 0; k < 9; k++)
                {
                    Assert.True(Math.Abs(expected[b, t, k] - actual[b, t, k]) <= 1e-6f, $"[{b},{t},{k}]: {actual[b, t, k]} vs {expected[b, t, k]}");
                    Assert.True(Math.Abs(graph[b, t, k] - actual[b, t, k]) <= 1e-5f, $"ORT [{b},{t},{k}]: {graph[b, t, k]} vs {actual[b, t, k]}");
                }
        Assert.Throws<ArgumentException>("ids", () => imported.Forward([1, 12, 0, 0, 0, 1, 2, 3, 4, 5], [2, 5], lengths));
        Assert.Throws<ArgumentException>("lengths", () => imported.Forward(ids, [2, 5], [2]));
    }

    /// <summary>
    /// The sequence-first layout [T, B] of ids with lengths: padding (-1 or V) at each sequence's own steps is ignored, the
    /// valid steps give the LSTM's output over the looked-up embeddings; lengths outside 1..T are refused up front.
    /// </summary>
    [Fact]
    public void AnImportedSequenceFirstEmbeddingTakesPaddingAtEachSequencesSteps()
    {
        var embedding = new Embedding<float>(6, 3, seed: 2);
        var lstm = new Lstm<float>(new LstmOptions { InputSize = 3, HiddenSize = 4 }, seed: 3) { Training = false };
        var imported = OnnxImporter.Parse<float>(OnnxExporter.ToBytes(embedding, lstm, null, new OnnxExportOptions { SequenceLengths = true }));
        int[] lengths = [3, 1];
        int[] ids = [1, 2, 4, -1, 5, 6, 0, 0];                                     // [T = 4, B = 2]: sequence 1 is [2], then -1, 6, 0
        int[] clean = [1, 2, 4, 0, 5, 0, 0, 0];                                     // padding replaced by a valid id
        var expected = lstm.Forward(embedding.Forward(clean, 4, 2), lengths: lengths).Output;  // [T, B, H]
        var actual = imported.Forward(ids, [4, 2], lengths).Output;
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < lengths[b]; t++)
                for (int k = 0; k < 4; k++)
                    Assert.True(Math.Abs(expected[t, b, k] - actual[t, b, k]) <= 1e-6f, $"[{t},{b},{k}]: {actual[t, b, k]} vs {expected[t, b, k]}");
        Assert.Contains("lengths[0] = 5", Assert.Throws<ArgumentException>("lengths", () => imported.Forward(ids, [4, 2], [5, 1])).Message);
        Assert.Throws<ArgumentException>("shape", () => imported.Forward(ids, [-2, -4], lengths));
    }

    /// <summary>A Reshape of the output sequence with fixed leading sizes could regroup T and B: refused, not taken as a layout change.</summary>
    [Fact]
    public void AReshapeThatCouldRegroupTimeAndBatchIsRefused()
    {
        var lstm = new Lstm<float>(new LstmOptions { InputSize = 3, HiddenSize = 4, Bidirectional = true, BatchFirst = true });
        var proto = OnnxModelProto.Parse(OnnxExporter.ToBytes(null, lstm, null, new OnnxExportOptions()));
        int at = proto.Graph.Initializers.FindIndex(t => t.Name == "shape_t_b_dh");
        proto.Graph.Initializers[at] = OnnxTensorProto.FromInt64s("shape_t_b_dh", [4, 0, -1]);
        proto.Graph.Initializers[at].Dims = [3];
        var e = Assert.Throws<NotSupportedException>(() => OnnxImporter.Parse<float>(proto.ToBytes()));
        Assert.Contains("Reshape", e.Message);
    }

    [Fact]
    public void UnknownOperatorIsRefusedByName()
    {
        var bytes = Edited(m =>
        {
            var node = new OnnxNodeProto { Name = "mystery", OpType = "Foo" };
            node.Inputs.Add("input");
            node.Outputs.Add("foo_out");
            m.Graph.Nodes.Insert(0, node);
        });
        var e = Assert.Throws<NotSupportedException>(() => OnnxImporter.Parse<float>(bytes));
        Assert.Contains("'mystery' (Foo)", e.Message);
    }

    [Fact]
    public void TensorWhoseDataDoesNotFitItsDimsIsRefused()
    {
        var bytes = Edited(m => m.Graph.Initializers.Single(t => t.Name == "lstm.l0.W").Dims = [1, 16, 4]);
        var e = Assert.Throws<InvalidDataException>(() => OnnxImporter.Parse<float>(bytes));
        Assert.Contains("'lstm.l0.W'", e.Message);
        Assert.Contains("needs 64 elements", e.Message);
    }

    [Fact]
    public void LstmNodeWithNoOutputsIsRefusedByName()
    {
        var bytes = Edited(m => m.Graph.Nodes.Single(n => n.OpType == "LSTM").Outputs.Clear());
        var e = Assert.Throws<InvalidDataException>(() => OnnxImporter.Parse<float>(bytes));
        Assert.Contains("'lstm/l0' (LSTM)", e.Message);
        Assert.Contains("no outputs", e.Message);
    }

    [Theory]
    [InlineData(4L, 1L << 62)]         // 2^64 elements: the running product wrapped to 0 and the empty data was accepted
    [InlineData(1L << 31, 1L << 31)]
    [InlineData(3L, long.MaxValue)]
    public void TensorDimsWhoseProductOverflowsAreRefused(long d0, long d1)
    {
        var bytes = Edited(m => m.Graph.Initializers.Add(new OnnxTensorProto { Name = "bogus", DataType = OnnxDataType.Float, Dims = [d0, d1] }));
        var e = Assert.Throws<InvalidDataException>(() => OnnxImporter.Parse<float>(bytes));
        Assert.Contains("'bogus'", e.Message);
        Assert.Contains("too large", e.Message);
        // A zero dimension makes a tensor empty, whatever the others are.
        OnnxImporter.Parse<float>(Edited(m => m.Graph.Initializers.Add(new OnnxTensorProto { Name = "empty", DataType = OnnxDataType.Float, Dims = [d0, 0, d1] })));
    }

    [Fact]
    public void LstmWeightOfTheWrongShapeIsRefused()
    {
        var bytes = Edited(m =>
        {
            int i = m.Graph.Initializers.FindIndex(t => t.Name == "lstm.l0.R");
            m.Graph.Initializers[i] = OnnxTensorProto.FromFloats("lstm.l0.R", new float[16 * 5], 1, 16, 5);
        });
        var e = Assert.Throws<InvalidDataException>(() => OnnxImporter.Parse<float>(bytes));
        Assert.Contains("'lstm/l0' (LSTM): R 'lstm.l0.R' has dims [1, 16, 5], expected [D, 4H, H] = [1, 16, 4]", e.Message);
    }

    [Fact]
    public void UnsupportedLstmAttributesAreRefusedByNode()
    {
        var reverse = Edited(m => m.Graph.Nodes.Single(n => n.OpType == "LSTM").Attributes.Single(a => a.Name == "direction").S = "reverse"u8.ToArray());
        Assert.Contains("'lstm/l0' (LSTM): direction 'reverse'", Assert.Throws<NotSupportedException>(() => OnnxImporter.Parse<float>(reverse)).Message);
        var clip = Edited(m => m.Graph.Nodes.Single(n => n.OpType == "LSTM").Attributes.Add(OnnxAttributeProto.Float("clip", 3)));
        Assert.Contains("clip", Assert.Throws<NotSupportedException>(() => OnnxImporter.Parse<float>(clip)).Message);
        // Activations: three per direction, Sigmoid, Tanh, Tanh in any case (as ONNX Runtime reads them); others refused.
        byte[] Activations(params string[] names) => Edited(m =>
        {
            var a = new OnnxAttributeProto { Name = "activations", Type = OnnxAttributeType.Strings };
            foreach (var name in names) a.Strings.Add(System.Text.Encoding.UTF8.GetBytes(name));
            m.Graph.Nodes.Single(n => n.OpType == "LSTM").Attributes.Add(a);
        });
        OnnxImporter.Parse<float>(Activations("Sigmoid", "Tanh", "Tanh"));
        OnnxImporter.Parse<float>(Activations("sigmoid", "tanh", "tanh"));
        foreach (var names in new[] { new[] { "Sigmoid", "Tanh" }, ["Sigmoid", "Relu", "Tanh"], ["Sigmoid", "Tanh", "Tanh", "Sigmoid"] })
            Assert.Contains("activations [", Assert.Throws<NotSupportedException>(() => OnnxImporter.Parse<float>(Activations(names))).Message);
    }

    /// <summary>A weight that names no tensor of the graph is a broken file, not a dynamic input.</summary>
    [Fact]
    public void AnLstmWeightMissingFromTheGraphIsNamed()
    {
        var bytes = Edited(m => m.Graph.Initializers.RemoveAll(t => t.Name == "lstm.l0.W"));
        var e = Assert.Throws<InvalidDataException>(() => OnnxImporter.Parse<float>(bytes));
        Assert.Contains("its W input 'lstm.l0.W' is not in the graph", e.Message);
    }

    [Fact]
    public void ANodeOffTheKnownPathsIsRefusedByName()
    {
        // A Softmax between the layers is a known operator in an unknown place.
        var bytes = Edited(m =>
        {
            var reshape = m.Graph.Nodes.Single(n => n.Name == "lstm/reshape_out");
            reshape.Inputs[0] = "odd/out";
            var odd = new OnnxNodeProto { Name = "odd", OpType = "Softmax" };
            odd.Inputs.Add("lstm/transpose_out/out");
            odd.Outputs.Add("odd/out");
            m.Graph.Nodes.Insert(m.Graph.Nodes.IndexOf(reshape), odd);
        });
        var e = Assert.Throws<NotSupportedException>(() => OnnxImporter.Parse<float>(bytes));
        Assert.Contains("'odd' (Softmax)", e.Message);
    }

    [Fact]
    public void NotAnOnnxFileIsRefused()
    {
        var e = Assert.Throws<InvalidDataException>(() => OnnxImporter.Parse<float>("{\"hello\": 1}"u8));
        Assert.StartsWith("ONNX:", e.Message);
    }

    // ---- Files written by PyTorch's torch.onnx.export (Interop/TorchOnnx, made by torch_roundtrip.py fixtures) ----

    public static readonly TheoryData<string> TorchFixtures = new()
    {
        "torch_lstm_1layer", "torch_embedding_bilstm2_head_softmax", "torch_lstm2_nobias_state", "torch_bilstm1_state", "torch_lstm2_classifier",
        "torch_bilstm1_cat_classifier", "torch_bilstm2_cat_classifier",  // torch.cat((hn[-2], hn[-1]), dim=1) into the head
    };

    /// <summary>torch.cat((hn[-1], hn[-2]), 1), the directions the other way round: refused, naming the rows to use.</summary>
    [Fact]
    public void AConcatOfTheFinalStatesInAnotherOrderIsRefused()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Interop", "TorchOnnx", "torch_bilstm2_cat_classifier.onnx");
        var proto = OnnxModelProto.Parse(File.ReadAllBytes(path));
        var concat = proto.Graph.Nodes.Single(n => n.OpType == "Concat" && n.Attribute("axis")?.I == 1);
        (concat.Inputs[0], concat.Inputs[1]) = (concat.Inputs[1], concat.Inputs[0]);
        var e = Assert.Throws<NotSupportedException>(() => OnnxImporter.Parse<float>(proto.ToBytes()));
        Assert.Contains("joins rows 3 and 2 of the final hidden state", e.Message);
        Assert.Contains("rows 2 and 3 of h_n", e.Message);
    }

    [Theory]
    [MemberData(nameof(TorchFixtures))]
    public void ImportsPyTorchsOnnxExport(string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Interop", "TorchOnnx");
        var data = SafeTensorsFile.Load(Path.Combine(dir, name + ".safetensors"));
        var model = OnnxImporter.Load<float>(Path.Combine(dir, name + ".onnx"));
        var h0 = data.Tensors.ContainsKey("h0") ? data["h0"].ToTensor<float>() : null;
        var c0 = data.Tensors.ContainsKey("c0") ? data["c0"].ToTensor<float>() : null;
        Assert.Equal(h0 is not null, model.H0Name is not null);
        var input = data["input"];
        var actual = input.DType == DType.I64
            ? model.Forward(input.ToInt64().Select(i => (int)i).ToArray(), [.. input.Shape], null, h0, c0)
            : model.Forward(input.ToTensor<float>(), null, h0, c0);
        TestUtil.AssertClose($"{name} output", data["expected.output"].ToTensor<float>(), actual.Output, 1e-5);
        TestUtil.AssertClose($"{name} h_n", data["expected.h_n"].ToTensor<float>(), actual.HN, 1e-5);
        TestUtil.AssertClose($"{name} c_n", data["expected.c_n"].ToTensor<float>(), actual.CN, 1e-5);
        Assert.Equal((OnnxExporter.OutputName, OnnxExporter.HNName, OnnxExporter.CNName), (model.OutputName, model.HNName, model.CNName));
    }
}
