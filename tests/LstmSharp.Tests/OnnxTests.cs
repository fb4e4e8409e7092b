using System.Numerics;
using LstmSharp.IO.Onnx;
using LstmSharp.Layers;
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

}
