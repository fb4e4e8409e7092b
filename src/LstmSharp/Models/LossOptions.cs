namespace LstmSharp.Models;

/// <summary>Which loss a regression model is trained on.</summary>
public enum RegressionLoss
{
    /// <summary>Mean squared error.</summary>
    Mse,

    /// <summary>Mean absolute error.</summary>
    L1,

    /// <summary>Huber loss with <see cref="LossOptions.HuberDelta"/>.</summary>
    Huber,
}

/// <summary>The loss a <see cref="SequenceModel{T}"/> is trained and evaluated on; always the mean over valid predictions.</summary>
public sealed record LossOptions
{
    /// <summary>The loss of the regression kinds (default MSE).</summary>
    public RegressionLoss Regression { get; init; } = RegressionLoss.Mse;

    /// <summary>δ of the Huber loss.</summary>
    public double HuberDelta { get; init; } = 1.0;

    /// <summary>Label smoothing ε of the cross-entropy (categorical kinds).</summary>
    public double LabelSmoothing { get; init; }

    /// <summary>Per-class weights of the cross-entropy ([C]), or null for equal weights.</summary>
    public IReadOnlyList<double>? ClassWeights { get; init; }

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the first invalid option: a regression loss that is not one of
    /// <see cref="RegressionLoss"/>, δ not a finite number &gt; 0, ε outside [0, 1], class weights that are negative or not
    /// finite, or (given <paramref name="classes"/>, the model's C) not one per class.
    /// </summary>
    /// <param name="classes">The number of classes the weights must match, or null to leave their count unchecked.</param>
    public void Validate(int? classes = null)
    {
        if (!Enum.IsDefined(Regression)) throw new ArgumentException($"Regression: expected one of {string.Join(", ", Enum.GetNames<RegressionLoss>())}, got {Regression}.", nameof(Regression));
        if (!(HuberDelta > 0) || double.IsInfinity(HuberDelta)) throw new ArgumentException($"HuberDelta: expected a finite δ > 0, got {HuberDelta}.", nameof(HuberDelta));
        if (!(LabelSmoothing >= 0 && LabelSmoothing <= 1)) throw new ArgumentException($"LabelSmoothing: expected ε in [0, 1], got {LabelSmoothing}.", nameof(LabelSmoothing));
        if (ClassWeights is not { } w) return;
        for (int c = 0; c < w.Count; c++)
            if (!(w[c] >= 0) || double.IsInfinity(w[c]))
                throw new ArgumentException($"ClassWeights: expected finite weights >= 0, got ClassWeights[{c}] = {w[c]}.", nameof(ClassWeights));
        if (classes is { } n && w.Count != n) throw new ArgumentException($"ClassWeights: expected {n} weights, one per class, got {w.Count}.", nameof(ClassWeights));
    }
}
