using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Losses;

/// <summary>
/// Binary cross-entropy on logits, PyTorch's <c>nn.BCEWithLogitsLoss</c> / <c>F.binary_cross_entropy_with_logits</c>:
/// with σ the logistic sigmoid, per element l = -w [p t log σ(x) + (1 - t) log(1 - σ(x))].
/// </summary>
/// <remarks>
/// <para>Computed without overflow or cancellation, with s = log(1 + exp(-|x|)) and softplus(±x) = max(±x, 0) + s:</para>
/// <code>
/// l     = w [max(x, 0) - x t + s]                          without a positive weight
/// l     = w [p t softplus(-x) + (1 - t) softplus(x)]       with a positive weight p
/// dl/dx = w [(p t + 1 - t) σ(x) - p t]                     (= w (σ(x) - t) for p = 1)
/// </code>
/// <para>These equal PyTorch's (1 - t) x - (1 + (p - 1) t) log σ(x) up to rounding. At x = 0, l = log 2 for any t.</para>
/// <para>The weight w and the positive weight p broadcast to the logits' shape as in PyTorch (shapes aligned on the right,
/// each dimension equal or 1): p is usually [C], one per class on the last axis; w may be [C], [N, 1] or the full shape.
/// Targets t may be soft, any value in [0, 1]; they are not checked.</para>
/// <para>Mask: as <see cref="MseLoss"/> (true = counts; Mean divides by the number of elements that count, whatever the
/// weights, as PyTorch; 0 when none counts).</para>
/// </remarks>
public static class BceWithLogitsLoss
{
    /// <summary>The loss and its gradient with respect to the logits (divided by the count for Mean).</summary>
    /// <param name="logits">x, any shape.</param>
    /// <param name="target">t, the shape of <paramref name="logits"/>, each in [0, 1].</param>
    /// <param name="mask">Which elements count (see <see cref="MseLoss"/>'s remarks); empty for all.</param>
    /// <param name="reduction">Mean (the default, as PyTorch), Sum or None.</param>
    /// <param name="weight">w, a rescaling of each element's loss, broadcast to the logits' shape; null for 1.</param>
    /// <param name="posWeight">p, the weight of positive targets, broadcast to the logits' shape (usually [C]); null for 1.</param>
    public static LossResult<T> Compute<T>(Tensor<T> logits, Tensor<T> target, ReadOnlySpan<bool> mask = default,
        Reduction reduction = Reduction.Mean, Tensor<T>? weight = null, Tensor<T>? posWeight = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(target);
        LossHelpers.CheckSameShape(logits, target, nameof(logits), nameof(target));
        LossHelpers.CheckReduction(reduction);
        var keep = LossHelpers.ExpandMask(mask, logits, nameof(logits));
        var w = LossHelpers.BroadcastTo(weight, logits, nameof(weight), nameof(logits));
        var p = LossHelpers.BroadcastTo(posWeight, logits, nameof(posWeight), nameof(logits));
        int[] shape = [.. logits.Shape];
        var acc = new LossAccumulator<T>(reduction, LossHelpers.CountKept(keep, logits.Length), shape, shape);
        T scale = T.CreateChecked(acc.Scale);
        for (int i = 0; i < logits.Length; i++)
        {
            if (keep is not null && !keep[i]) continue;
            T x = logits.Data[i], t = target.Data[i];
            T s = LossHelpers.Log1P(T.Exp(-T.Abs(x)));
            T loss, grad;
            if (p is null)
            {
                // max(x, 0) - x·t, written so that x = +∞ with t < 1 gives +∞ (∞ - ∞·t was NaN), as PyTorch's (1 - t)·x does
                loss = (x >= T.Zero ? x * (T.One - t) : -x * t) + s;
                grad = LossHelpers.Sigmoid(x) - t;
            }
            else
            {
                T pt = p[i] * t;
                loss = pt * (T.Max(-x, T.Zero) + s) + (T.One - t) * (T.Max(x, T.Zero) + s);
                grad = (pt + T.One - t) * LossHelpers.Sigmoid(x) - pt;
            }
            if (w is not null)
            {
                loss *= w[i];
                grad *= w[i];
            }
            acc.Add(i, double.CreateChecked(loss));
            acc.Gradient[i] = scale * grad;
        }
        return acc.Result();
    }
}
