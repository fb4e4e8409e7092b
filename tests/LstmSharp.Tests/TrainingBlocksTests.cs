using System.Numerics;
using LstmSharp.Layers;
using LstmSharp.Losses;
using LstmSharp.Optimizers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>Linear, Embedding and the losses against finite differences in float64; optimizers on hand-worked cases.</summary>
public class TrainingBlocksTests
{
    [Fact]
    public void LinearAndCrossEntropyBackwardMatchFiniteDifferences()
    {
        var rng = new Rng(3);
        var lin = new Linear<double>(5, 7, seed: 2);
        var x = TestUtil.Random<double>(rng, 4, 5);
        int[] targets = [0, 6, 3, 3];
        double Loss() => CrossEntropyLoss.Compute(lin.Forward(x), targets).Value;
        var loss = CrossEntropyLoss.Compute(lin.Forward(x), targets);
        var dx = lin.Backward(x, loss.Gradient);
        foreach (var (name, value, grad) in new[] { ("weight", lin.Weight.Value, lin.Weight.Grad), ("bias", lin.Bias!.Value, lin.Bias.Grad), ("x", x, dx) })
            for (int i = 0; i < value.Length; i++)
                Assert.True(Math.Abs(grad.Data[i] - TestUtil.Numeric(value.Data, i, Loss)) < 1e-8, $"{name}[{i}]");
    }

    /// <summary>Linear runs on the packed GEMM: against plain loops on odd shapes (every remainder of the tiles), with and without bias, and with no rows.</summary>
    [Theory]
    [InlineData(67, 37, 65, true)]
    [InlineData(13, 129, 3, false)]
    [InlineData(1, 1, 1, true)]
    [InlineData(0, 5, 4, true)]
    public void LinearMatchesPlainLoopsOnOddShapes(int rows, int inFeatures, int outFeatures, bool bias)
    {
        var rng = new Rng(9);
        var lin = new Linear<double>(inFeatures, outFeatures, bias, seed: 3);
        var x = TestUtil.Random<double>(rng, 1, rows, inFeatures);
        var dy = TestUtil.Random<double>(rng, 1, rows, outFeatures);
        lin.Weight.Grad.Data[0] = 0.5;  // gradients accumulate
        var y = lin.Forward(x);
        var into = new double[rows * outFeatures];
        into.AsSpan().Fill(double.NaN);                                   // overwritten, never read
        lin.Forward(x.Data, into);
        Assert.Equal(y.Data, into);                                       // the span form: the same sums, the same bits
        var dx = lin.Backward(x, dy);
        Assert.Equal([1, rows, outFeatures], y.Shape.ToArray());
        Assert.Equal([1, rows, inFeatures], dx.Shape.ToArray());
        var w = lin.Weight.Value.Data;
        for (int n = 0; n < rows; n++)
            for (int j = 0; j < outFeatures; j++)
            {
                double sum = bias ? lin.Bias!.Value.Data[j] : 0;
                for (int k = 0; k < inFeatures; k++) sum += w[j * inFeatures + k] * x.Data[n * inFeatures + k];
                Assert.Equal(sum, y.Data[n * outFeatures + j], 1e-12);
            }
        for (int n = 0; n < rows; n++)
            for (int k = 0; k < inFeatures; k++)
            {
                double sum = 0;
                for (int j = 0; j < outFeatures; j++) sum += dy.Data[n * outFeatures + j] * w[j * inFeatures + k];
                Assert.Equal(sum, dx.Data[n * inFeatures + k], 1e-12);
            }
        for (int j = 0; j < outFeatures; j++)
        {
            for (int k = 0; k < inFeatures; k++)
            {
                double sum = j == 0 && k == 0 ? 0.5 : 0;
                for (int n = 0; n < rows; n++) sum += dy.Data[n * outFeatures + j] * x.Data[n * inFeatures + k];
                Assert.Equal(sum, lin.Weight.Grad.Data[j * inFeatures + k], 1e-12);
            }
            if (bias)
            {
                double sum = 0;
                for (int n = 0; n < rows; n++) sum += dy.Data[n * outFeatures + j];
                Assert.Equal(sum, lin.Bias!.Grad.Data[j], 1e-12);
            }
        }
    }

    [Fact]
    public void MseAndEmbeddingBackwardMatchFiniteDifferences()
    {
        var rng = new Rng(4);
        var emb = new Embedding<double>(6, 3, seed: 1);
        int[] ids = [1, 4, 1, 5];
        var target = TestUtil.Random<double>(rng, 4, 3);
        double Loss() => MseLoss.Compute(emb.Forward(ids), target).Value;
        var loss = MseLoss.Compute(emb.Forward(ids), target);
        emb.Backward(ids, loss.Gradient);
        for (int i = 0; i < emb.Weight.Value.Length; i++)
            Assert.True(Math.Abs(emb.Weight.Grad.Data[i] - TestUtil.Numeric(emb.Weight.Value.Data, i, Loss)) < 1e-8, $"weight[{i}]");
        Assert.All(emb.Weight.Grad.Data.AsSpan(0, 3).ToArray(), v => Assert.Equal(0.0, v)); // row 0 never picked
    }

    [Fact]
    public void LossesRefuseBadTargets()
    {
        var logits = Tensor<float>.Zeros(2, 3);
        Assert.Contains("targets[1] = 3", Assert.Throws<ArgumentException>(() => CrossEntropyLoss.Compute(logits, [0, 3])).Message);
        Assert.Contains("N = 2", Assert.Throws<ArgumentException>(() => CrossEntropyLoss.Compute(logits, [0])).Message);
        Assert.Contains("[2, 3]", Assert.Throws<ArgumentException>(() => MseLoss.Compute(logits, Tensor<float>.Zeros(3, 2))).Message);
    }

    [Fact]
    public void LayersRefuseBadShapesAndIdsInBackwardToo()
    {
        var lin = new Linear<float>(3, 2);
        Assert.Contains("in = 3", Assert.Throws<ArgumentException>(() => lin.Backward(Tensor<float>.Zeros(4, 5), Tensor<float>.Zeros(4, 2))).Message);
        Assert.Contains("out = 2", Assert.Throws<ArgumentException>(() => lin.Backward(Tensor<float>.Zeros(4, 3), Tensor<float>.Zeros(4, 3))).Message);
        var emb = new Embedding<float>(5, 2);
        var e = Assert.Throws<ArgumentException>(() => emb.Backward([1, 7], Tensor<float>.Zeros(2, 2)));
        Assert.Contains("ids[1] = 7", e.Message);
        Assert.All(emb.Weight.Grad.Data, v => Assert.Equal(0f, v)); // nothing half-applied
        Assert.Contains("0..4, got 5", Assert.Throws<ArgumentOutOfRangeException>("id", () => emb.Row(5)).Message);
        Assert.Throws<ArgumentOutOfRangeException>("id", () => emb.Row(-1));
        Assert.Equal(emb.Weight.Value.Data[6..8], emb.Row(3).ToArray());
        Assert.Contains("in = 3 values, got 7", Assert.Throws<ArgumentException>("input", () => lin.Forward(new float[7], new float[4])).Message);
        Assert.Contains("[2, 2] = 4 values, got 3", Assert.Throws<ArgumentException>("output", () => lin.Forward(new float[6], new float[3])).Message);
    }

    [Fact]
    public void SgdNesterovAndAdamAmsGradFollowTheirFormulas()
    {
        // One parameter, gradient fixed at 1: hand-worked values.
        var p = new Parameter<double>("w", Tensor<double>.Zeros(1));
        var sgd = new Sgd<double>([p], learningRate: 0.1, momentum: 0.9, nesterov: true);
        p.Grad.Data[0] = 1; sgd.Step();           // b = 1, g = 1 + 0.9 = 1.9
        Assert.Equal(-0.19, p.Value.Data[0], 12);
        sgd.Step();                               // b = 1.9, g = 1 + 1.71 = 2.71
        Assert.Equal(-0.19 - 0.271, p.Value.Data[0], 12);

        var q = new Parameter<double>("w", Tensor<double>.Zeros(1));
        var adam = new Adam<double>([q], learningRate: 0.1, amsgrad: true);
        q.Grad.Data[0] = 2; adam.Step();          // first step moves by lr · sign(g)
        Assert.Equal(-0.1, q.Value.Data[0], 6);
        q.Grad.Data[0] = 0; adam.Step();          // AMSGrad keeps the larger v: a smaller second step
        Assert.InRange(q.Value.Data[0], -0.2, -0.1);
    }

    /// <summary>
    /// Adam and AdamW (vectors at a time, with a scalar tail) give the same bits as the formula applied one element at a
    /// time, at every length around the vector width, with and without weight decay.
    /// </summary>
    [Theory]
    [InlineData(false, 0.0)]
    [InlineData(false, 0.1)]
    [InlineData(true, 0.01)]
    public void AdamMatchesItsFormulaToTheBit(bool decoupled, double weightDecay)
    {
        AdamToTheBit<float>(decoupled, weightDecay);
        AdamToTheBit<double>(decoupled, weightDecay);
    }

    private static void AdamToTheBit<T>(bool decoupled, double weightDecay) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(7);
        // Every length from 1 to three vectors and one more (without hardware vectors both sides are the scalar loop).
        for (int n = 1; n <= 3 * Vector<T>.Count + 1; n++)
        {
            var p = new Parameter<T>("w", TestUtil.Random<T>(rng, n));                                 // [n]
            var (x, m, v) = ((T[])p.Value.Data.Clone(), new T[p.Value.Length], new T[p.Value.Length]);  // [n] each
            Optimizer<T> adam = decoupled ? new AdamW<T>([p], 0.01, weightDecay: weightDecay) : new Adam<T>([p], 0.01, weightDecay: weightDecay);
            T b1 = T.CreateChecked(0.9), b2 = T.CreateChecked(0.999), c1 = T.CreateChecked(1 - 0.9), c2 = T.CreateChecked(1 - 0.999);
            T eps = T.CreateChecked(1e-8), wd = T.CreateChecked(weightDecay), decay = T.CreateChecked(1 - 0.01 * weightDecay);
            for (int t = 1; t <= 3; t++)
            {
                rng.FillUniform(-T.One, T.One, p.Grad.Data);
                T stepSize = T.CreateChecked(0.01 / (1 - Math.Pow(0.9, t)));
                T sqrtBc2 = T.CreateChecked(Math.Sqrt(1 - Math.Pow(0.999, t)));
                for (int i = 0; i < x.Length; i++)
                {
                    T g = p.Grad.Data[i];
                    if (decoupled) x[i] *= decay;
                    else if (weightDecay != 0) g += wd * x[i];
                    m[i] = b1 * m[i] + c1 * g;
                    v[i] = b2 * v[i] + c2 * g * g;
                    x[i] -= stepSize * m[i] / (T.Sqrt(v[i]) / sqrtBc2 + eps);
                }
                adam.Step();
                for (int i = 0; i < x.Length; i++)
                    Assert.True(x[i].Equals(p.Value.Data[i]), $"{typeof(T).Name} n={n} step {t} [{i}]: {p.Value.Data[i]} vs {x[i]}");
            }
        }
    }

    /// <summary>
    /// Float32 updates as PyTorch's within 2 units in the last place: every factor (1 - β, 1 - α, lr / (1 - β1^t),
    /// 1 - lr·λ) is worked out in double and rounded once, as torch passes Python floats to its kernels (from the float
    /// β, 1 - β2 would be 0.00099998713: every Adam update 6e-6 too large, some 50 units in the last place; RMSprop's
    /// 1 - α, 8). Not to the bit: this build of torch fuses addcmul's multiply and add into one FMA (RMSprop's step 4
    /// differs from ours in the last bit for that alone), which depends on how torch was compiled. Five steps of one parameter from 0 with gradients
    /// 1, -2, 0.5, 3, -0.25; the expected values are PyTorch 1.13's, from
    /// <c>p = torch.zeros(1, requires_grad=True); opt = torch.optim.Adam([p], lr=0.1); for g in grads: p.grad = torch.tensor([g]); opt.step()</c>.
    /// </summary>
    [Fact]
    public void FloatAdamAdamWAndRmsPropStepAsPyTorch()
    {
        Steps(ps => new Adam<float>(ps, 0.1), [-0.09999998658895493f, -0.06338962912559509f, -0.04972056299448013f, -0.08913055062294006f, -0.1187601312994957f]);
        Steps(ps => new Adam<float>(ps, 0.1, weightDecay: 0.1, amsgrad: true),
            [-0.09999998658895493f, -0.0632040947675705f, -0.049152832478284836f, -0.08826890587806702f, -0.11751919984817505f]);
        Steps(ps => new AdamW<float>(ps, 0.1, weightDecay: 0.3),
            [-0.09999998658895493f, -0.06038963422179222f, -0.044908881187438965f, -0.08297160267829895f, -0.11011204123497009f]);
        Steps(ps => new RmsProp<float>(ps, 0.01), [-0.09999998658895493f, -0.01046770066022873f, -0.03241505101323128f, -0.11220058798789978f, -0.105533167719841f]);
        Steps(ps => new RmsProp<float>(ps, 0.01, centered: true, momentum: 0.9),
            [-0.10050377249717712f, -0.10133322328329086f, -0.12403236329555511f, -0.2244247943162918f, -0.3080987334251404f]);

        static void Steps(Func<Parameter<float>[], Optimizer<float>> make, float[] expected)
        {
            float[] grads = [1f, -2f, 0.5f, 3f, -0.25f];
            var p = new Parameter<float>("p", Tensor<float>.Zeros(1));
            var optimizer = make([p]);
            for (int t = 0; t < grads.Length; t++)
            {
                p.Grad.Data[0] = grads[t];
                optimizer.Step();
                float ours = p.Value.Data[0];
                int ulps = Math.Abs(BitConverter.SingleToInt32Bits(ours) - BitConverter.SingleToInt32Bits(expected[t]));
                Assert.True(Math.Sign(ours) == Math.Sign(expected[t]) && ulps <= 2, $"{optimizer.GetType().Name} step {t + 1}: {ours:R} vs PyTorch's {expected[t]:R} ({ulps} units in the last place apart)");
            }
        }
    }

    /// <summary>The global norm (vectors of doubles with a scalar tail) equals the plain sum at every length, and scales when above the limit.</summary>
    [Fact]
    public void ClipGradNormMatchesThePlainSumAtEveryLength()
    {
        ClipToPlainSum<float>();
        ClipToPlainSum<double>();
    }

    private static void ClipToPlainSum<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(3);
        for (int n = 1; n <= 40; n++)
        {
            var a = new Parameter<T>("a", TestUtil.Random<T>(rng, n));  // [n]
            var b = new Parameter<T>("b", TestUtil.Random<T>(rng, 3));  // [3]
            rng.FillUniform(T.CreateChecked(-2), T.CreateChecked(2), a.Grad.Data);
            rng.FillUniform(T.CreateChecked(-2), T.CreateChecked(2), b.Grad.Data);
            double plain = Math.Sqrt(a.Grad.Data.Concat(b.Grad.Data).Sum(g => double.CreateChecked(g) * double.CreateChecked(g)));
            var before = a.Grad.Data.ToArray();  // [n]
            double norm = GradientClipping.ClipGradNorm([a, b], 0.5);
            Assert.Equal(plain, norm, 1e-12);
            T c = T.CreateChecked(0.5 / (norm + 1e-6));
            for (int i = 0; i < n; i++) Assert.Equal(before[i] * c, a.Grad.Data[i]);
        }
    }

    /// <summary>
    /// As PyTorch's clip_grad_norm_: a NaN norm makes every gradient NaN, an infinite one zeroes the finite gradients;
    /// a max norm of 0 zeroes them, a negative one is refused.
    /// </summary>
    [Fact]
    public void ClipGradNormPassesNoNonFiniteGradientOnAsClipped()
    {
        var a = new Parameter<double>("a", Tensor<double>.Zeros(3));
        a.Grad.Data[0] = double.NaN;
        a.Grad.Data[1] = 2;
        Assert.True(double.IsNaN(GradientClipping.ClipGradNorm([a], 1.0)));
        Assert.All(a.Grad.Data, g => Assert.True(double.IsNaN(g)));
        a.Grad.Data[0] = double.PositiveInfinity;
        a.Grad.Data[1] = 2;
        a.Grad.Data[2] = -3;
        Assert.True(double.IsPositiveInfinity(GradientClipping.ClipGradNorm([a], 1.0)));
        Assert.True(double.IsNaN(a.Grad.Data[0]));
        Assert.Equal(0.0, a.Grad.Data[1]);
        Assert.Equal(0.0, a.Grad.Data[2], 0.0);
        a.Grad.Data[0] = 1;
        GradientClipping.ClipGradNorm([a], 0);
        Assert.All(a.Grad.Data, g => Assert.Equal(0.0, g));
        var e = Assert.Throws<ArgumentException>(() => GradientClipping.ClipGradNorm([a], -1));
        Assert.Equal("maxNorm", e.ParamName);
    }

    /// <summary>
    /// Negative rates, decays and epsilons are refused, as PyTorch refuses them, in the constructors and the rate's
    /// setter; so are infinite ones, a non-finite dampening, an empty parameter list (as PyTorch) and a clip value that
    /// is negative or NaN (which would clamp every gradient to NaN).
    /// </summary>
    [Fact]
    public void OptimizersRefuseNegativeSettings()
    {
        Parameter<double>[] ps = [new("w", Tensor<double>.Zeros(2))];
        foreach (var (make, name) in new (Action, string)[]
        {
            (() => new Adam<double>(ps, weightDecay: -0.1), "weightDecay"),
            (() => new AdamW<double>(ps, weightDecay: -0.1), "weightDecay"),
            (() => new Sgd<double>(ps, 0.1, weightDecay: -1), "weightDecay"),
            (() => new RmsProp<double>(ps, epsilon: -1e-8), "epsilon"),
            (() => new RmsProp<double>(ps, weightDecay: double.NaN), "weightDecay"),
            (() => new Sgd<double>(ps, 0.1).LearningRate = -1, "LearningRate"),
            (() => new Adam<double>(ps).LearningRate = double.NaN, "LearningRate"),
            (() => new Adam<double>(ps, learningRate: double.PositiveInfinity), "learningRate"),
            (() => new Sgd<double>(ps, 0.1, momentum: 0.9, dampening: double.NaN), "dampening"),
            (() => new Adam<double>([]), "parameters"),
            (() => new Sgd<double>([], 0.1), "parameters"),
            (() => GradientClipping.ClipGradValue(ps, -1), "clipValue"),
            (() => GradientClipping.ClipGradValue(ps, double.NaN), "clipValue"),
            (() => new Adam<double>([null!]), "parameters"),
            (() => new Sgd<double>([ps[0], null!], 0.1), "parameters"),
            (() => GradientClipping.ClipGradNorm<double>([null!], 1), "parameters"),
            (() => GradientClipping.ClipGradValue<double>([ps[0], null!], 1), "parameters"),
            (() => new Adam<double>(ps).LoadStateDict(new Dictionary<string, Tensor<double>> { ["w.exp_avg"] = null!, ["w.exp_avg_sq"] = Tensor<double>.Zeros(2) }, 0), "state"),
        })
            Assert.Equal(name, Assert.Throws<ArgumentException>(make).ParamName);
    }

    /// <summary>
    /// A tensor listed twice (the same parameter, or one tensor under two names) would be stepped twice a step; PyTorch
    /// warns, and will refuse: refused, naming both entries.
    /// </summary>
    [Fact]
    public void OptimizersRefuseATensorListedTwice()
    {
        var w = new Parameter<double>("w", Tensor<double>.Zeros(2));
        var alias = new Parameter<double>("alias", w);  // a view: the same value and gradient
        var e = Assert.Throws<ArgumentException>(() => new Sgd<double>([w, w], 0.1));
        Assert.Equal("parameters", e.ParamName);
        Assert.Contains("entry 1 ('w') holds the same tensor as 'w'", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Adam<double>([w, new("b", Tensor<double>.Zeros(1)), alias]));
        Assert.Contains("entry 2 ('alias') holds the same tensor as 'w'", e.Message);
    }

    /// <summary>The trainer's check finds a NaN or an infinity at any position of any length (vector part and tail).</summary>
    [Fact]
    public void NonFiniteGradientsAreFoundAnywhere()
    {
        FindsNonFinite<float>();
        FindsNonFinite<double>();
    }

    private static void FindsNonFinite<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int n = 0; n <= 40; n++)
        {
            var x = new T[n];  // [n]
            Assert.True(LstmSharp.Training.Trainer<T>.AllFinite(x));
            for (int i = 0; i < n; i++)
            {
                foreach (var bad in new[] { T.NaN, T.PositiveInfinity, T.NegativeInfinity })
                {
                    x[i] = bad;
                    Assert.False(LstmSharp.Training.Trainer<T>.AllFinite(x), $"{typeof(T).Name} n={n}: {bad} at {i}");
                    x[i] = T.CreateChecked(1e30);
                }
            }
            Assert.True(LstmSharp.Training.Trainer<T>.AllFinite(x));
        }
    }

    /// <summary>
    /// Norm types as PyTorch's clip_grad_norm_(params, 2.0, norm_type=p) on gradients [3, -4, 0.5] and [[1, -2], [0.25, 7]]
    /// in float64: the total norm it returns and the clipped gradients (PyTorch 1.13's values), for p = 1, 3, ∞ and 0.5;
    /// errorIfNonfinite refuses a NaN norm and changes nothing.
    /// </summary>
    [Theory]
    [InlineData(1.0, 17.75, 0.33802814997024505, 0.7887323499305718)]
    [InlineData(3.0, 7.623958471015903, 0.7869926411348684, 1.8363161626480264)]
    [InlineData(double.PositiveInfinity, 7.0, 0.8571427346938949, 1.9999997142857548)]
    [InlineData(0.5, 99.98245001393481, 0.06001053123976491, 0.1400245728927848)]
    public void ClipGradNormTakesPyTorchsNormTypes(double normType, double norm, double a0, double b3)
    {
        var a = new Parameter<double>("a", Tensor<double>.Zeros(3));
        var b = new Parameter<double>("b", Tensor<double>.Zeros(2, 2));
        new double[] { 3, -4, 0.5 }.CopyTo(a.Grad.Data, 0);
        new double[] { 1, -2, 0.25, 7 }.CopyTo(b.Grad.Data, 0);
        Assert.Equal(norm, GradientClipping.ClipGradNorm([a, b], 2.0, normType), 12);
        Assert.Equal(a0, a.Grad.Data[0], 12);
        Assert.Equal(b3, b.Grad.Data[3], 12);
        b.Grad.Data[0] = double.NaN;
        var before = b.Grad.Data.ToArray();
        var e = Assert.Throws<InvalidOperationException>(() => GradientClipping.ClipGradNorm([a, b], 2.0, normType, errorIfNonfinite: true));
        Assert.Contains("is NaN", e.Message);
        Assert.Equal(before, b.Grad.Data);
        Assert.Throws<ArgumentException>("normType", () => GradientClipping.ClipGradNorm([a, b], 2.0, 0));
        // An infinite gradient: the norm is ∞, the finite gradients become 0 and the infinite one NaN (as PyTorch: × 0),
        // unless errorIfNonfinite, which refuses and changes nothing.
        new double[] { 1, -2, 0.25, double.PositiveInfinity }.CopyTo(b.Grad.Data, 0);
        Assert.Throws<InvalidOperationException>(() => GradientClipping.ClipGradNorm([a, b], 2.0, normType, errorIfNonfinite: true));
        Assert.Equal(1.0, b.Grad.Data[0]);
        Assert.Equal(double.PositiveInfinity, GradientClipping.ClipGradNorm([a, b], 2.0, normType));
        Assert.Equal([0.0, -0.0, 0.0], b.Grad.Data[..3]);
        Assert.True(double.IsNaN(b.Grad.Data[3]));
    }

    [Fact]
    public void ClipGradValueClamps()
    {
        var p = new Parameter<float>("w", Tensor<float>.Zeros(3));
        p.Grad.Data[0] = 5; p.Grad.Data[1] = -5; p.Grad.Data[2] = 0.5f;
        GradientClipping.ClipGradValue([p], 1);
        Assert.Equal([1f, -1f, 0.5f], p.Grad.Data);
        p.Grad.Data[0] = 3e38f;
        GradientClipping.ClipGradValue([p], double.PositiveInfinity);             // as PyTorch: no clipping at all
        Assert.Equal([3e38f, -1f, 0.5f], p.Grad.Data);
    }

    /// <summary>
    /// StatQuest's "LSTM by hand": an LSTM with I = 1 and H = 1 reads [0, 0.5, 0.25, 1] and [1, 0.5, 0.25, 1];
    /// trained with Adam on MSE, its last output predicts 0 for the first and 1 for the second.
    /// </summary>
    [Fact]
    public void StatQuestLstmByHandLearnsToTellTheSequencesApart()
    {
        var lstm = new Lstm<double>(new LstmOptions { InputSize = 1, HiddenSize = 1, BatchFirst = true }, seed: 3);
        var x = new Tensor<double>([0, 0.5, 0.25, 1, 1, 0.5, 0.25, 1], 2, 4, 1);
        var target = new Tensor<double>([0, 1], 2, 1);
        var adam = new Adam<double>(lstm.Parameters, learningRate: 0.05);
        Tensor<double> Predict(LstmResult<double> r) => new([r.Output[0, 3, 0], r.Output[1, 3, 0]], 2, 1);
        for (int step = 0; step < 2000; step++)
        {
            adam.ZeroGrad();
            var r = lstm.Forward(x);
            var loss = MseLoss.Compute(Predict(r), target);
            var dOut = Tensor<double>.Zeros(2, 4, 1);
            dOut[0, 3, 0] = loss.Gradient.Data[0];
            dOut[1, 3, 0] = loss.Gradient.Data[1];
            lstm.Backward(r.Cache, dOut);
            adam.Step();
        }
        var prediction = Predict(lstm.Forward(x));
        Assert.InRange(prediction.Data[0], -0.05, 0.05);
        Assert.InRange(prediction.Data[1], 0.95, 1.05);
    }
}
