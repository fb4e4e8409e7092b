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
}
