using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Losses;

/// <summary>A loss value and its gradient with respect to the prediction.</summary>
/// <param name="Value">The (reduced) loss.</param>
/// <param name="Gradient">dL/d prediction, the prediction's shape.</param>
public readonly record struct LossResult<T>(double Value, Tensor<T> Gradient) where T : unmanaged, IFloatingPointIeee754<T>;
