namespace LstmSharp.Losses;

/// <summary>How a loss combines its per-element values, PyTorch's <c>reduction</c> argument.</summary>
public enum Reduction
{
    /// <summary>
    /// The mean over the elements that count (see each loss for its divisor: unmasked elements, or for
    /// <see cref="CrossEntropyLoss"/> the summed weights of the rows that count). PyTorch's <c>'mean'</c>.
    /// </summary>
    Mean,

    /// <summary>The sum over the elements that count. PyTorch's <c>'sum'</c>.</summary>
    Sum,

    /// <summary>
    /// No reduction, PyTorch's <c>'none'</c>: the per-element losses come back in <see cref="LossResult{T}.Elementwise"/>;
    /// <see cref="LossResult{T}.Value"/> is their sum and <see cref="LossResult{T}.Gradient"/> the gradient of that sum
    /// (an upstream gradient of ones).
    /// </summary>
    None,
}
