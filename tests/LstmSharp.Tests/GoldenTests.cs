using System.Numerics;
using LstmSharp.IO;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>
/// Parity with PyTorch: every <c>*.safetensors</c> file in <c>Golden/</c> is a case (see Golden/README.md),
/// discovered at run time. LSTM and LSTMCell cases run forward and backward in the file's precision, and
/// float32 cases also in float64, with every kernel this CPU runs (<see cref="LstmKernels.All{T}"/>).
/// </summary>
public class GoldenTests
{
    private const double Float32Tolerance = 3e-5;
    private const double Float64Tolerance = 1e-9;

    private static IEnumerable<(string File, string Kind, string DType)> Files() =>
        Directory.EnumerateFiles(TestUtil.GoldenDir, "*.safetensors").Order(StringComparer.Ordinal).Select(path =>
        {
            var md = SafeTensorsFile.Load(path).Metadata;
            return (Path.GetFileName(path), md["kind"], md.GetValueOrDefault("dtype", "float32"));
        });

    /// <summary>Every kernel this CPU runs (the same names in float and double).</summary>
    private static IEnumerable<string> Kernels() => LstmKernels.All<double>().Select(k => k.Name);

    public static TheoryData<string, string, string> LayerCases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (file, kind, dtype) in Files())
        {
            if (kind is not ("LSTM" or "LSTMCell")) continue;
            foreach (var kernel in Kernels())
            {
                data.Add(file, dtype, kernel);
                if (dtype == "float32") data.Add(file, "float64", kernel);
            }
        }
        return data;
    }

    public static TheoryData<string, string> TrainCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var (file, kind, _) in Files())
            if (kind == "Train")
                foreach (var kernel in Kernels()) data.Add(file, kernel);
        return data;
    }

    /// <summary>
    /// A few optimizer steps on a small model (Regressor: LSTM → last step → Linear, MSE; CharModel: Embedding → LSTM →
    /// Linear on every step, cross-entropy): the loss before every step, the gradient norm when clipping, and the
    /// final weights agree with PyTorch within 1e-5.
    /// </summary>
    [Theory]
    [MemberData(nameof(TrainCases))]
    public void TrainingMatchesPyTorch(string file, string kernel)
    {
        const double tol = 1e-5;
        var f = SafeTensorsFile.Load(Path.Combine(TestUtil.GoldenDir, file));
        var md = f.Metadata;
        Assert.Equal("Train", md["kind"]);
        var model = new GoldenTrainModel(f, LstmKernels.ByName<float>(kernel));
        var args = System.Text.Json.JsonDocument.Parse(md["optimizer_args"]).RootElement;
        double Arg(string name, double fallback) => args.TryGetProperty(name, out var v) ? v.GetDouble() : fallback;
        var parameters = model.Parameters.Select(p => p.Param).ToList();
        Optimizers.Optimizer<float> optimizer = md["optimizer"] switch
        {
            "sgd" => new Optimizers.Sgd<float>(parameters, Arg("lr", 0), Arg("momentum", 0), Arg("dampening", 0), weightDecay: Arg("weight_decay", 0)),
            "adam" => new Optimizers.Adam<float>(parameters, Arg("lr", 1e-3), weightDecay: Arg("weight_decay", 0)),
            "adamw" => new Optimizers.AdamW<float>(parameters, Arg("lr", 1e-3), weightDecay: Arg("weight_decay", 0.01)),
            var other => throw new NotSupportedException($"optimizer {other}"),
        };
        double? clip = md["clip_grad_norm"] == "null" ? null : double.Parse(md["clip_grad_norm"], System.Globalization.CultureInfo.InvariantCulture);
        var losses = f["losses"].ToTensorConverted<double>().Data;
        var norms = f.Tensors.ContainsKey("grad_norms_before_clip") ? f["grad_norms_before_clip"].ToTensorConverted<double>().Data : null;
        Assert.Equal(int.Parse(md["steps"], System.Globalization.CultureInfo.InvariantCulture), losses.Length);
        for (int step = 0; step < losses.Length; step++)
        {
            optimizer.ZeroGrad();
            double loss = model.LossAndBackward();
            Assert.True(Math.Abs(loss - losses[step]) / Math.Max(1, Math.Abs(losses[step])) <= tol, $"loss at step {step}: {loss} vs {losses[step]}");
            if (clip is double maxNorm)
            {
                double norm = Optimizers.GradientClipping.ClipGradNorm(parameters, maxNorm);
                Assert.True(Math.Abs(norm - norms![step]) / Math.Max(1, norms[step]) <= tol, $"grad norm at step {step}: {norm} vs {norms[step]}");
            }
            optimizer.Step();
        }
        foreach (var (name, p) in model.Parameters)
            TestUtil.AssertClose("final." + name, f["final." + name].ToTensor<float>(), p.Value, tol);
    }

    /// <summary>
    /// The two small models of the golden training cases as <see cref="SequenceModel{T}"/>s: PyTorch's initial
    /// <c>state_dict</c> (names <c>embed.*</c>, <c>lstm.*</c>, <c>head.*</c>) loads into them as it is.
    /// </summary>
    private sealed class GoldenTrainModel
    {
        private readonly SequenceModel<float> _model;
        private readonly SequenceBatch<float> _batch;

        public GoldenTrainModel(SafeTensorsFile f, ILstmKernel<float> kernel)
        {
            var init = f.Tensors.Keys.Where(k => k.StartsWith("init.", StringComparison.Ordinal)).ToDictionary(k => k[5..], k => f[k].ToTensor<float>());
            int layers = init.Keys.Count(k => k.StartsWith("lstm.weight_ih_l", StringComparison.Ordinal) && !k.EndsWith("_reverse", StringComparison.Ordinal));
            var headW = init["head.weight"];
            int b = f["input"].Shape[0], t = f["input"].Shape[1];
            var lengths = Enumerable.Repeat(t, b).ToArray();
            if (init.TryGetValue("embed.weight", out var emb))
            {
                _model = new SequenceModel<float>(new ModelConfig
                {
                    Kind = ModelKind.LanguageModel, VocabSize = emb.Dim(0), EmbeddingSize = emb.Dim(1),
                    HiddenSize = init["lstm.weight_hh_l0"].Dim(1), NumLayers = layers,
                });
                _batch = new SequenceBatch<float>(lengths, t,
                    tokens: f["input"].ToInt64().Select(v => (int)v).ToArray(),      // [B, T]
                    labels: f["target"].ToInt64().Select(v => (int)v).ToArray());    // [B, T]
            }
            else
            {
                _model = new SequenceModel<float>(new ModelConfig
                {
                    Kind = ModelKind.Regression, InputSize = init["lstm.weight_ih_l0"].Dim(1), OutputSize = headW.Dim(0),
                    HiddenSize = init["lstm.weight_hh_l0"].Dim(1), NumLayers = layers,
                });
                _batch = new SequenceBatch<float>(lengths, t, features: f["input"].ToTensor<float>(), targets: f["target"].ToTensor<float>());
            }
            _model.LoadStateDict(init);
            _model.Lstm.Kernel = kernel;
        }

        public IReadOnlyList<(string Name, Parameter<float> Param)> Parameters => _model.Parameters.Select(p => (p.Name, p)).ToList();

        public double LossAndBackward()
        {
            var output = _model.Forward(_batch);
            var loss = _model.Loss(output, _batch);
            _model.Backward(output.Cache, loss.Gradient);
            return loss.Value;
        }
    }

    [Fact]
    public void GoldenFolderHoldsEveryKind()
    {
        var kinds = Files().Select(f => f.Kind).ToHashSet();
        Assert.Contains("LSTM", kinds);
        Assert.Contains("LSTMCell", kinds);
        Assert.True(Files().Count() >= 14, "the golden folder lost files");
    }

    [Theory]
    [MemberData(nameof(LayerCases))]
    public void MatchesPyTorch(string file, string precision, string kernel)
    {
        var golden = SafeTensorsFile.Load(Path.Combine(TestUtil.GoldenDir, file));
        double tolerance = golden.Metadata["dtype"] == "float64" ? Float64Tolerance : Float32Tolerance;
        if (precision == "float64") Run<double>(golden, tolerance, kernel);
        else Run<float>(golden, tolerance, kernel);
    }

    private static void Run<T>(SafeTensorsFile golden, double tolerance, string kernel) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (golden.Metadata["kind"] == "LSTMCell") RunCell<T>(golden, tolerance, LstmKernels.ByName<T>(kernel));
        else RunLstm<T>(golden, tolerance, LstmKernels.ByName<T>(kernel));
    }

    private static Tensor<T> Get<T>(SafeTensorsFile f, string name) where T : unmanaged, IFloatingPointIeee754<T> =>
        f[name].ToTensorConverted<T>();

    private static Tensor<T>? Opt<T>(SafeTensorsFile f, string name) where T : unmanaged, IFloatingPointIeee754<T> =>
        f.Tensors.ContainsKey(name) ? Get<T>(f, name) : null;

    private static void RunLstm<T>(SafeTensorsFile f, double tol, ILstmKernel<T> kernel) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var options = LstmOptions.FromMetadata(f.Metadata);
        var lstm = new Lstm<T>(options, seed: 123) { Kernel = kernel };
        lstm.LoadStateDict(lstm.Parameters.ToDictionary(p => p.Name, p => Get<T>(f, p.Name)));
        int[]? lengths = f.Tensors.ContainsKey("lengths") ? f["lengths"].ToInt64().Select(v => (int)v).ToArray() : null;

        var r = lstm.Forward(Get<T>(f, "input"), Opt<T>(f, "h0"), Opt<T>(f, "c0"), lengths);
        TestUtil.AssertClose("output", Get<T>(f, "output"), r.Output, tol);
        TestUtil.AssertClose("h_n", Get<T>(f, "h_n"), r.HN, tol);
        TestUtil.AssertClose("c_n", Get<T>(f, "c_n"), r.CN, tol);

        var g = lstm.Backward(r.Cache, Get<T>(f, "grad_in.output"), Get<T>(f, "grad_in.h_n"), Get<T>(f, "grad_in.c_n"));
        TestUtil.AssertClose("grad.input", Get<T>(f, "grad.input"), g.Input, tol);
        if (f.Tensors.ContainsKey("grad.h0")) TestUtil.AssertClose("grad.h0", Get<T>(f, "grad.h0"), g.H0, tol);
        if (f.Tensors.ContainsKey("grad.c0")) TestUtil.AssertClose("grad.c0", Get<T>(f, "grad.c0"), g.C0, tol);
        foreach (var p in lstm.Parameters)
            TestUtil.AssertClose("grad." + p.Name, Get<T>(f, "grad." + p.Name), p.Grad, tol);
    }

    private static void RunCell<T>(SafeTensorsFile f, double tol, ILstmKernel<T> kernel) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var input = Get<T>(f, "input");
        int hidden = f["weight_hh"].Shape[1];
        var cell = new LstmCell<T>(input.Dim(-1), hidden, bias: f.Metadata["bias"] == "true", seed: 7) { Kernel = kernel };
        cell.LoadStateDict(cell.Parameters.ToDictionary(p => p.Name, p => Get<T>(f, p.Name)));

        var r = cell.Forward(input, Opt<T>(f, "h0"), Opt<T>(f, "c0"));
        TestUtil.AssertClose("h1", Get<T>(f, "h1"), r.H, tol);
        TestUtil.AssertClose("c1", Get<T>(f, "c1"), r.C, tol);

        var g = cell.Backward(r.Cache, Get<T>(f, "grad_in.h1"), Get<T>(f, "grad_in.c1"));
        TestUtil.AssertClose("grad.input", Get<T>(f, "grad.input"), g.Input, tol);
        if (f.Tensors.ContainsKey("grad.h0")) TestUtil.AssertClose("grad.h0", Get<T>(f, "grad.h0"), g.H0, tol);
        if (f.Tensors.ContainsKey("grad.c0")) TestUtil.AssertClose("grad.c0", Get<T>(f, "grad.c0"), g.C0, tol);
        foreach (var p in cell.Parameters)
            TestUtil.AssertClose("grad." + p.Name, Get<T>(f, "grad." + p.Name), p.Grad, tol);
    }
}
