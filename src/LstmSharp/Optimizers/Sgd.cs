using System.Numerics;
using LstmSharp.Layers;

namespace LstmSharp.Optimizers;

/// <summary>
/// Stochastic gradient descent as PyTorch's <c>torch.optim.SGD</c>: g += wd·p; with momentum μ,
/// b = g on the first step and b = μ b + (1 - dampening) g after; g = g + μ b with Nesterov, else b; p -= lr·g.
/// </summary>
public sealed class Sgd<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[][] _momentum;

    /// <summary>SGD with optional momentum, dampening, Nesterov and (L2) weight decay.</summary>
    public Sgd(IEnumerable<Parameter<T>> parameters, double learningRate, double momentum = 0, double dampening = 0,
        bool nesterov = false, double weightDecay = 0) : base(parameters, learningRate)
    {
        Arguments.NonNegative(momentum, nameof(momentum));
        Arguments.NonNegative(weightDecay, nameof(weightDecay));
        Arguments.Finite(dampening, nameof(dampening));
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException($"nesterov: needs momentum > 0 and dampening = 0, got momentum {momentum} and dampening {dampening}.", nameof(nesterov));
        Momentum = momentum;
        Dampening = dampening;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
        _momentum = Parameters.Select(p => new T[p.Value.Length]).ToArray();
    }

    /// <summary>μ.</summary>
    public double Momentum { get; }

    /// <summary>Dampening of the momentum.</summary>
    public double Dampening { get; }

    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <summary>L2 penalty added to the gradient.</summary>
    public double WeightDecay { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<(string Name, string Value)> Settings =>
        [Setting("momentum", Momentum), Setting("dampening", Dampening), Setting("nesterov", Nesterov), Setting("weight_decay", WeightDecay)];

    /// <inheritdoc/>
    protected override IEnumerable<(string Kind, T[][] Buffers)> StateBuffers()
    {
        if (Momentum != 0) yield return ("momentum_buffer", _momentum);
    }

    /// <inheritdoc/>
    public override void Step()
    {
        T lr = T.CreateChecked(LearningRate), mu = T.CreateChecked(Momentum), wd = T.CreateChecked(WeightDecay);
        T damp = T.CreateChecked(1 - Dampening);
        bool first = StepCount == 0;
        for (int k = 0; k < Parameters.Count; k++)
        {
            var p = Parameters[k].Value.Data;
            var grad = Parameters[k].Grad.Data;
            var buf = _momentum[k];
            for (int i = 0; i < p.Length; i++)
            {
                T g = grad[i];
                if (WeightDecay != 0) g += wd * p[i];
                if (Momentum != 0)
                {
                    buf[i] = first ? g : mu * buf[i] + damp * g;
                    g = Nesterov ? g + mu * buf[i] : buf[i];
                }
                p[i] -= lr * g;
            }
        }
        StepCount++;
    }
}
