using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Losses;

/// <summary>
/// Smooth L1 loss, PyTorch's <c>nn.SmoothL1Loss</c> / <c>F.smooth_l1_loss</c>: with d = y - t, per element
/// l = d² / (2β) where |d| &lt; β, else |d| - β / 2.
/// </summary>
/// <remarks>
/// The gradient is clamp(d / β, -1, 1), PyTorch's -1 where d ≤ -β and 1 where d ≥ β. β = 0 is the L1 loss, with
/// PyTorch's gradient of -1 where d = 0 (<see cref="L1Loss"/> gives 0 there, as PyTorch's).
/// Mask: as <see cref="MseLoss"/> (true = counts; Mean divides by the number of elements that count; 0 when none does).
/// </remarks>
public static class SmoothL1Loss
{
    /// <summary>The loss, and its gradient from dl/dy = clamp((y - t) / β, -1, 1) per element (divided by the count for Mean).</summary>
    /// <param name="prediction">y, any shape.</param>
    /// <param name="target">t, the shape of <paramref name="prediction"/>.</param>
    /// <param name="mask">Which elements count (see <see cref="MseLoss"/>'s remarks); empty for all.</param>
    /// <param name="reduction">Mean (the default, as PyTorch), Sum or None.</param>
    /// <param name="beta">β ≥ 0, where the loss turns from quadratic to linear; 1 by default, as PyTorch.</param>
    public static LossResult<T> Compute<T>(Tensor<T> prediction, Tensor<T> target, ReadOnlySpan<bool> mask = default,
        Reduction reduction = Reduction.Mean, double beta = 1.0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (!(beta >= 0))
            throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta: expected β ≥ 0.");
        LossHelpers.CheckSameShape(prediction, target, nameof(prediction), nameof(target));
        LossHelpers.CheckReduction(reduction);
        var keep = LossHelpers.ExpandMask(mask, prediction, nameof(prediction));
        int[] shape = [.. prediction.Shape];
        var acc = new LossAccumulator<T>(reduction, LossHelpers.CountKept(keep, prediction.Length), shape, shape);
        T scale = T.CreateChecked(acc.Scale), b = T.CreateChecked(beta), half = T.CreateChecked(0.5);
        for (int i = 0; i < prediction.Length; i++)
        {
            if (keep is not null && !keep[i]) continue;
            T diff = prediction.Data[i] - target.Data[i], z = T.Abs(diff);
            acc.Add(i, double.CreateChecked(z < b ? half * z * z / b : z - half * b));
            acc.Gradient[i] = diff <= -b ? -scale : diff >= b ? scale : scale * diff / b;
        }
        return acc.Result();
    }
}
