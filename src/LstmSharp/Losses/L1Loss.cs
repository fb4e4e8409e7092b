using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Losses;

/// <summary>Mean absolute error, PyTorch's <c>nn.L1Loss</c> / <c>F.l1_loss</c>: per element l = |y - t|.</summary>
/// <remarks>
/// The gradient is sign(y - t), 0 where y = t, as PyTorch's <c>sign</c>.
/// Mask: as <see cref="MseLoss"/> (true = counts; Mean divides by the number of elements that count; 0 when none does).
/// </remarks>
public static class L1Loss
{
    /// <summary>The loss, and its gradient from dl/dy = sign(y - t) per element (divided by the count for Mean).</summary>
    /// <param name="prediction">y, any shape.</param>
    /// <param name="target">t, the shape of <paramref name="prediction"/>.</param>
    /// <param name="mask">Which elements count (see <see cref="MseLoss"/>'s remarks); empty for all.</param>
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
        T scale = T.CreateChecked(acc.Scale);
        for (int i = 0; i < prediction.Length; i++)
        {
            if (keep is not null && !keep[i]) continue;
            T diff = prediction.Data[i] - target.Data[i];
            acc.Add(i, double.CreateChecked(T.Abs(diff)));
            acc.Gradient[i] = scale * (diff > T.Zero ? T.One : diff < T.Zero ? -T.One : diff * T.Zero);
        }
        return acc.Result();
    }
}
