using System.Numerics;
using LstmSharp.Layers;

namespace LstmSharp.Optimizers;

/// <summary>
/// RMSprop as PyTorch's <c>torch.optim.RMSprop</c>: s = α s + (1-α) g²; with <c>centered</c>, a = α a + (1-α) g and
/// the denominator is sqrt(s - a²) + ε, else sqrt(s) + ε; with momentum μ, b = μ b + g / denom and p -= lr·b,
/// else p -= lr·g / denom.
/// </summary>
public sealed class RmsProp<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[][] _square, _mean, _buffer;

    /// <summary>RMSprop with PyTorch's defaults (lr 0.01, α 0.99, ε 1e-8).</summary>
    public RmsProp(IEnumerable<Parameter<T>> parameters, double learningRate = 0.01, double alpha = 0.99, double epsilon = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false) : base(parameters, learningRate)
    {
        if (!(alpha >= 0 && alpha < 1)) throw new ArgumentException($"alpha: expected a value in [0, 1), got {alpha}.", nameof(alpha));
        Arguments.NonNegative(momentum, nameof(momentum));
        Arguments.NonNegative(epsilon, nameof(epsilon));
        Arguments.NonNegative(weightDecay, nameof(weightDecay));
        Alpha = alpha;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        Momentum = momentum;
        Centered = centered;
        _square = Parameters.Select(p => new T[p.Value.Length]).ToArray();
        _mean = centered ? Parameters.Select(p => new T[p.Value.Length]).ToArray() : [];
        _buffer = momentum > 0 ? Parameters.Select(p => new T[p.Value.Length]).ToArray() : [];
    }

    /// <summary>α, the smoothing constant.</summary>
    public double Alpha { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <summary>L2 penalty added to the gradient.</summary>
    public double WeightDecay { get; }

    /// <summary>μ.</summary>
    public double Momentum { get; }

    /// <summary>Whether the gradient's running mean is subtracted.</summary>
    public bool Centered { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<(string Name, string Value)> Settings =>
        [Setting("alpha", Alpha), Setting("eps", Epsilon), Setting("weight_decay", WeightDecay), Setting("momentum", Momentum), Setting("centered", Centered)];

    /// <inheritdoc/>
    protected override IEnumerable<(string Kind, T[][] Buffers)> StateBuffers()
    {
        yield return ("square_avg", _square);
        if (Momentum > 0) yield return ("momentum_buffer", _buffer);
        if (Centered) yield return ("grad_avg", _mean);
    }

    /// <inheritdoc/>
    public override void Step()
    {
        T lr = T.CreateChecked(LearningRate), a = T.CreateChecked(Alpha), eps = T.CreateChecked(Epsilon);
        T wd = T.CreateChecked(WeightDecay), mu = T.CreateChecked(Momentum), oneMinusA = T.CreateChecked(1 - Alpha); // as PyTorch: 1 - α in double, rounded once
        for (int k = 0; k < Parameters.Count; k++)
        {
            var p = Parameters[k].Value.Data;
            var grad = Parameters[k].Grad.Data;
            var s = _square[k];
            for (int i = 0; i < p.Length; i++)
            {
                T g = grad[i];
                if (WeightDecay != 0) g += wd * p[i];
                s[i] = a * s[i] + oneMinusA * g * g;
                T variance = s[i];
                if (Centered)
                {
                    var m = _mean[k];
                    m[i] = a * m[i] + oneMinusA * g;
                    variance -= m[i] * m[i];
                }
                T denom = T.Sqrt(variance) + eps;
                if (Momentum > 0)
                {
                    var b = _buffer[k];
                    b[i] = mu * b[i] + g / denom;
                    p[i] -= lr * b[i];
                }
                else
                {
                    p[i] -= lr * g / denom;
                }
            }
        }
        StepCount++;
    }
}
