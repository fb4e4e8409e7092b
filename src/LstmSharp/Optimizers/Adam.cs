using System.Numerics;
using LstmSharp.Layers;

namespace LstmSharp.Optimizers;

/// <summary>
/// Adam as PyTorch's <c>torch.optim.Adam</c> (L2 weight decay added to the gradient, optional AMSGrad), or with
/// <c>decoupled</c> weight decay as <c>torch.optim.AdamW</c> (p *= 1 - lr·wd before the update).
/// m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²; p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + ε).
/// </summary>
public class Adam<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[][] _m, _v, _vMax;
    private readonly bool _decoupled;

    /// <summary>Adam with PyTorch's defaults.</summary>
    public Adam(IEnumerable<Parameter<T>> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double epsilon = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : this(parameters, learningRate, beta1, beta2, epsilon, weightDecay, amsgrad, decoupled: false)
    {
    }

    /// <summary>Shared by Adam and AdamW.</summary>
    protected Adam(IEnumerable<Parameter<T>> parameters, double learningRate, double beta1, double beta2,
        double epsilon, double weightDecay, bool amsgrad, bool decoupled) : base(parameters, learningRate)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentException($"beta1: expected a value in [0, 1), got {beta1}.", nameof(beta1));
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentException($"beta2: expected a value in [0, 1), got {beta2}.", nameof(beta2));
        Arguments.NonNegative(epsilon, nameof(epsilon));
        Arguments.NonNegative(weightDecay, nameof(weightDecay));
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        AmsGrad = amsgrad;
        _decoupled = decoupled;
        _m = Parameters.Select(p => new T[p.Value.Length]).ToArray();
        _v = Parameters.Select(p => new T[p.Value.Length]).ToArray();
        _vMax = amsgrad ? Parameters.Select(p => new T[p.Value.Length]).ToArray() : [];
    }

    /// <summary>β1.</summary>
    public double Beta1 { get; }

    /// <summary>β2.</summary>
    public double Beta2 { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <summary>Weight decay: L2 for Adam, decoupled for AdamW.</summary>
    public double WeightDecay { get; }

    /// <summary>Whether the running maximum of v is used (AMSGrad).</summary>
    public bool AmsGrad { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<(string Name, string Value)> Settings =>
        [Setting("beta1", Beta1), Setting("beta2", Beta2), Setting("eps", Epsilon), Setting("weight_decay", WeightDecay), Setting("amsgrad", AmsGrad)];

    /// <inheritdoc/>
    protected override IEnumerable<(string Kind, T[][] Buffers)> StateBuffers()
    {
        yield return ("exp_avg", _m);
        yield return ("exp_avg_sq", _v);
        if (AmsGrad) yield return ("max_exp_avg_sq", _vMax);
    }

    /// <inheritdoc/>
    public override void Step()
    {
        long t = StepCount + 1;
        // As PyTorch: every factor worked out in double and rounded once to T (1 - β2 from the float β2 would be
        // 0.00099998713 in float, not 0.001: every update 6e-6 too large).
        T b1 = T.CreateChecked(Beta1), b2 = T.CreateChecked(Beta2), c1 = T.CreateChecked(1 - Beta1), c2 = T.CreateChecked(1 - Beta2);
        T eps = T.CreateChecked(Epsilon), wd = T.CreateChecked(WeightDecay);
        T stepSize = T.CreateChecked(LearningRate / (1 - Math.Pow(Beta1, t)));
        T sqrtBc2 = T.CreateChecked(Math.Sqrt(1 - Math.Pow(Beta2, t)));
        T decay = T.CreateChecked(1 - LearningRate * WeightDecay);
        for (int k = 0; k < Parameters.Count; k++)
        {
            var p = Parameters[k].Value.Data;
            var grad = Parameters[k].Grad.Data;
            var m = _m[k];
            var v = _v[k];
            int i = 0;
            if (!AmsGrad && Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
                i = UpdateVectors(p, grad, m, v, _decoupled, WeightDecay != 0, wd, decay, b1, b2, c1, c2, stepSize, sqrtBc2, eps);
            for (; i < p.Length; i++)
            {
                T g = grad[i];
                if (_decoupled) p[i] *= decay;
                else if (WeightDecay != 0) g += wd * p[i];
                m[i] = b1 * m[i] + c1 * g;
                v[i] = b2 * v[i] + c2 * g * g;
                T vHat = v[i];
                if (AmsGrad) vHat = _vMax[k][i] = T.Max(_vMax[k][i], v[i]);
                p[i] -= stepSize * m[i] / (T.Sqrt(vHat) / sqrtBc2 + eps);
            }
        }
        StepCount = t;
    }

    /// <summary>
    /// The update of <see cref="Step"/> without AMSGrad, a <see cref="Vector{T}"/> at a time, in exactly the scalar
    /// loop's order of operations (no fused multiply-add), so the results are the same to the bit. Returns how many
    /// leading elements it updated; the scalar loop does the rest. (p, grad, m, v: [n], one parameter's.)
    /// </summary>
    private static int UpdateVectors(Span<T> p, ReadOnlySpan<T> grad, Span<T> m, Span<T> v, bool decoupled, bool anyDecay,
        T wd, T decay, T b1, T b2, T c1, T c2, T stepSize, T sqrtBc2, T eps)
    {
        int w = Vector<T>.Count, i = 0;
        bool l2 = !decoupled && anyDecay;  // as the scalar loop: decided on the double, even when wd rounds to 0 in T
        Vector<T> vb1 = new(b1), vb2 = new(b2), vc1 = new(c1), vc2 = new(c2), vWd = new(wd), vDecay = new(decay),
            vStep = new(stepSize), vBc2 = new(sqrtBc2), vEps = new(eps);
        for (; i + w <= p.Length; i += w)
        {
            var g = new Vector<T>(grad.Slice(i, w));
            var pi = new Vector<T>(p.Slice(i, w));
            if (decoupled) pi *= vDecay;
            else if (l2) g += vWd * pi;
            var mi = vb1 * new Vector<T>(m.Slice(i, w)) + vc1 * g;
            var vi = vb2 * new Vector<T>(v.Slice(i, w)) + vc2 * g * g;
            pi -= vStep * mi / (Vector.SquareRoot(vi) / vBc2 + vEps);
            mi.CopyTo(m.Slice(i, w));
            vi.CopyTo(v.Slice(i, w));
            pi.CopyTo(p.Slice(i, w));
        }
        return i;
    }
}

/// <summary>AdamW, as PyTorch's <c>torch.optim.AdamW</c>: Adam with decoupled weight decay (default 0.01).</summary>
public sealed class AdamW<T> : Adam<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>AdamW with PyTorch's defaults.</summary>
    public AdamW(IEnumerable<Parameter<T>> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double epsilon = 1e-8, double weightDecay = 0.01, bool amsgrad = false)
        : base(parameters, learningRate, beta1, beta2, epsilon, weightDecay, amsgrad, decoupled: true)
    {
    }
}
