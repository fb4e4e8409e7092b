using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Losses;

/// <summary>A loss value and its gradient with respect to the prediction.</summary>
/// <param name="Value">
/// The reduced loss: the mean for <see cref="Reduction.Mean"/>, the sum for <see cref="Reduction.Sum"/>, and for
/// <see cref="Reduction.None"/> the sum of the per-element losses in <see cref="Elementwise"/>.
/// </param>
/// <param name="Gradient">
/// dValue/d prediction, the prediction's shape. For <see cref="Reduction.None"/> that is the gradient of the sum of
/// the per-element losses, i.e. PyTorch's <c>loss.backward(torch.ones_like(loss))</c>; to apply another upstream
/// gradient, compute with <see cref="Reduction.None"/> per element and scale yourself.
/// </param>
public readonly record struct LossResult<T>(double Value, Tensor<T> Gradient) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// For <see cref="Reduction.None"/>: the per-element losses (PyTorch's <c>reduction='none'</c> output), 0 where masked
    /// or ignored; the prediction's shape, or for <see cref="CrossEntropyLoss"/> the logits' shape without the class axis.
    /// Null for <see cref="Reduction.Mean"/> and <see cref="Reduction.Sum"/>.
    /// </summary>
    public Tensor<T>? Elementwise { get; init; }
}
