using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Losses;

/// <summary>Mean squared error, PyTorch's <c>nn.MSELoss</c> / <c>F.mse_loss</c>: per element l = (y - t)².</summary>
/// <remarks>
/// Mask: empty (the default) for none; otherwise one flag per element of the prediction, or one per position of all its
/// axes but the last (e.g. [B, T] for a [B, T, F] prediction), repeated over the last axis. <c>true</c> marks an
/// element that counts, <c>false</c> padding: it adds 0 to the loss, gets a 0 gradient and is not read. With
/// <see cref="Reduction.Mean"/> the divisor is the number of elements that count (true flags × F when repeated);
/// when none counts the loss is 0 with a zero gradient, where PyTorch's mean over nothing gives NaN.
/// </remarks>
public static class MseLoss
{
    /// <summary>The loss, and its gradient from dl/dy = 2 (y - t) per element (divided by the count for Mean).</summary>
    /// <param name="prediction">y, any shape.</param>
    /// <param name="target">t, the shape of <paramref name="prediction"/>.</param>
    /// <param name="mask">Which elements count (see the remarks); empty for all.</param>
    /// <param name="reduction">Mean (the default, as PyTorch), Sum or None.</param>
    public static LossResult<T> Compute<T>(Tensor<T> prediction, Tensor<T> target, ReadOnlySpan<bool> mask = default,
        Reduction reduction = Reduction.Mean) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        LossHelpers.CheckSameShape(prediction, target, nameof(prediction), nameof(target));
        LossHelpers.CheckReduction(reduction);
        var keep = LossHelpers.ExpandMask(mask, prediction, nameof(prediction));
        int[] shape = [.. prediction.Shape];
        var acc = new LossAccumulator<T>(reduction, LossHelpers.CountKept(keep, prediction.Length), shape, shape);
        T twoScale = T.CreateChecked(2 * acc.Scale);
        for (int i = 0; i < prediction.Length; i++)
        {
            if (keep is not null && !keep[i]) continue;
            T diff = prediction.Data[i] - target.Data[i];
            acc.Add(i, double.CreateChecked(diff * diff));
            acc.Gradient[i] = twoScale * diff;
        }
        return acc.Result();
    }
}
