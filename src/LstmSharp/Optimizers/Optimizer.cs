using System.Numerics;
using LstmSharp.Layers;

namespace LstmSharp.Optimizers;

/// <summary>Updates parameters from their accumulated gradients, with PyTorch's semantics.</summary>
public abstract class Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>An optimizer over <paramref name="parameters"/> with learning rate <paramref name="learningRate"/>.</summary>
    protected Optimizer(IEnumerable<Parameter<T>> parameters, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(learningRate >= 0)) throw new ArgumentException($"learningRate: expected a non-negative rate, got {learningRate}.", nameof(learningRate));
        Parameters = parameters.ToArray();
        LearningRate = learningRate;
    }

    /// <summary>The parameters updated.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>The learning rate; schedules change it between steps.</summary>
    public double LearningRate { get; set; }

    /// <summary>Steps taken so far.</summary>
    public long StepCount { get; protected set; }

    /// <summary>Applies one update from the current gradients.</summary>
    public abstract void Step();

    /// <summary>Sets every parameter's gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }
}
