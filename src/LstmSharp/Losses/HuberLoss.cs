using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Losses;

/// <summary>
/// Huber loss, PyTorch's <c>nn.HuberLoss</c> / <c>F.huber_loss</c>: with d = y - t, per element
/// l = d² / 2 where |d| &lt; δ, else δ (|d| - δ / 2).
/// </summary>
/// <remarks>
/// The gradient is d clamped to [-δ, δ]. For δ = 1 this equals <see cref="SmoothL1Loss"/> with β = 1; in general
/// Huber(δ) = δ · SmoothL1(β = δ).
/// Mask: as <see cref="MseLoss"/> (true = counts; Mean divides by the number of elements that count; 0 when none does).
/// </remarks>
public static class HuberLoss
{
    /// <summary>The loss, and its gradient from dl/dy = clamp(y - t, -δ, δ) per element (divided by the count for Mean).</summary>
    /// <param name="prediction">y, any shape.</param>
    /// <param name="target">t, the shape of <paramref name="prediction"/>.</param>
    /// <param name="mask">Which elements count (see <see cref="MseLoss"/>'s remarks); empty for all.</param>
    /// <param name="reduction">Mean (the default, as PyTorch), Sum or None.</param>
    /// <param name="delta">δ &gt; 0, where the loss turns from quadratic to linear; 1 by default, as PyTorch.</param>
    public static LossResult<T> Compute<T>(Tensor<T> prediction, Tensor<T> target, ReadOnlySpan<bool> mask = default,
        Reduction reduction = Reduction.Mean, double delta = 1.0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (!(delta > 0))
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "delta: expected δ > 0.");
        LossHelpers.CheckSameShape(prediction, target, nameof(prediction), nameof(target));
        LossHelpers.CheckReduction(reduction);
        var keep = LossHelpers.ExpandMask(mask, prediction, nameof(prediction));
        int[] shape = [.. prediction.Shape];
        var acc = new LossAccumulator<T>(reduction, LossHelpers.CountKept(keep, prediction.Length), shape, shape);
        T scale = T.CreateChecked(acc.Scale), d = T.CreateChecked(delta), half = T.CreateChecked(0.5);
        for (int i = 0; i < prediction.Length; i++)
        {
            if (keep is not null && !keep[i]) continue;
            T diff = prediction.Data[i] - target.Data[i], z = T.Abs(diff);
            acc.Add(i, double.CreateChecked(z < d ? half * diff * diff : d * (z - half * d)));
            acc.Gradient[i] = scale * (diff <= -d ? -d : diff >= d ? d : diff);
        }
        return acc.Result();
    }
}
