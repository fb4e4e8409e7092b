using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Losses;

/// <summary>
/// Cross-entropy of logits against class indices, PyTorch's <c>nn.CrossEntropyLoss</c> / <c>F.cross_entropy</c>
/// with class weights, <c>ignore_index</c>, <c>label_smoothing</c> and a reduction; the classes on the last axis.
/// </summary>
/// <remarks>
/// <para>With log p = log_softmax(z) over the C classes of a row z, its target t, class weights w (all 1 when none) and
/// label smoothing ε, the loss of a row that counts is (PyTorch's <c>cross_entropy_loss_label_smoothing</c>)</para>
/// <code>
/// l = (1 - ε) · w[t] · (-log p[t])  +  (ε / C) · Σ_c w[c] · (-log p[c])
/// </code>
/// <para>and 0 for a row whose target is <c>ignoreIndex</c> or whose mask flag is false. <see cref="Reduction.Mean"/>
/// divides the sum of l by W = Σ w[t] over the rows that count (their number when there are no weights), for both
/// terms, as PyTorch; <see cref="Reduction.Sum"/> adds; <see cref="Reduction.None"/> returns each row's l. When W = 0
/// (e.g. no row counts), Mean gives 0 and a zero gradient, where PyTorch gives NaN (0 / 0).</para>
/// <para>Gradient of a row's l: dl/dz[k] = ((1 - ε) w[t] + (ε / C) Σ_c w[c]) p[k] - (1 - ε) w[t] [k = t] - (ε / C) w[k]
/// (divided by W for Mean).</para>
/// <para>Logits [..., C] are read as rows of C: the leading axes are flattened row-major, and so are the targets, e.g.
/// logits [B, T, C] with targets for [B, T]. That is PyTorch's <c>cross_entropy(logits.reshape(-1, C), targets.reshape(-1))</c>,
/// not PyTorch's layout [N, C, d1, ...] with the classes on axis 1.</para>
/// </remarks>
public static class CrossEntropyLoss
{
    /// <summary>The loss and dl/dlogits (see the remarks for the formulas).</summary>
    /// <param name="logits">z, [..., C]: N = the product of the leading dimensions rows of C ≥ 1 classes, e.g. [N, C] or [B, T, C].</param>
    /// <param name="targets">N class indices, each in 0..C-1 or <paramref name="ignoreIndex"/>, row-major over the leading axes.</param>
    /// <param name="mask">Empty for none, else N flags: true where the row counts, false for padding (its logits and
    /// target are not read, and it adds nothing to the loss, the divisor or the gradient).</param>
    /// <param name="reduction">Mean (the default, as PyTorch), Sum or None.</param>
    /// <param name="weight">w, shape [C], a weight per class; null for all 1.</param>
    /// <param name="ignoreIndex">A target value that marks a row to skip, as a false mask flag; -100 by default, as PyTorch.</param>
    /// <param name="labelSmoothing">ε in [0, 1]; 0 by default.</param>
    public static LossResult<T> Compute<T>(Tensor<T> logits, ReadOnlySpan<int> targets, ReadOnlySpan<bool> mask = default,
        Reduction reduction = Reduction.Mean, Tensor<T>? weight = null, int ignoreIndex = -100, double labelSmoothing = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Rank == 0 || logits.Dim(-1) == 0)
            throw new ArgumentException($"logits: expected shape [..., C] with C ≥ 1 classes on the last axis, got {logits.ShapeString}.", nameof(logits));
        int c = logits.Dim(-1);
        int[] rowShape = [.. logits.Shape.Take(logits.Rank - 1)];
        int n = logits.Length / c;
        if (targets.Length != n)
            throw new ArgumentException(
                $"targets: expected N = {n} class indices (shape {ShapeUtil.Format(rowShape)}, one per row of logits {logits.ShapeString}), got {targets.Length}.", nameof(targets));
        if (!mask.IsEmpty && mask.Length != n)
            throw new ArgumentException(
                $"mask: expected N = {n} flags (shape {ShapeUtil.Format(rowShape)}, one per row of logits {logits.ShapeString}), got {mask.Length}.", nameof(mask));
        LossHelpers.CheckReduction(reduction);
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "labelSmoothing: expected ε in [0, 1].");
        double[]? w = null;
        if (weight is not null)
        {
            if (!weight.HasShape(c))
                throw new ArgumentException($"weight: expected one weight per class, shape [{c}] for logits {logits.ShapeString}, got {weight.ShapeString}.", nameof(weight));
            w = [.. weight.Data.Select(double.CreateChecked)];
        }

        // Which rows count, checking their targets first so that nothing is computed for a bad call.
        var counts = new bool[n];
        double divisor = 0;
        for (int r = 0; r < n; r++)
        {
            int target = targets[r];
            if ((!mask.IsEmpty && !mask[r]) || target == ignoreIndex) continue;
            if ((uint)target >= (uint)c)
                throw new ArgumentException(
                    $"targets: expected each class in 0..{c - 1} (or ignoreIndex = {ignoreIndex}), got targets[{r}] = {target}.", nameof(targets));
            counts[r] = true;
            divisor += w is null ? 1 : w[target];
        }

        double eps = labelSmoothing, smoothPerClass = eps / c;
        double weightSum = w is null ? c : w.Sum();
        var acc = new LossAccumulator<T>(reduction, divisor, [.. logits.Shape], rowShape);
        for (int r = 0; r < n; r++)
        {
            if (!counts[r]) continue;
            int target = targets[r];
            var z = logits.Data.AsSpan(r * c, c);
            var g = acc.Gradient.AsSpan(r * c, c);
            T max = z[0];
            for (int k = 1; k < c; k++) max = T.Max(max, z[k]);
            T sum = T.Zero;
            for (int k = 0; k < c; k++) sum += g[k] = T.Exp(z[k] - max);
            T logSum = T.Log(sum);                        // -log p[k] = logSum - (z[k] - max), as PyTorch's log_softmax:
                                                          // with max added to logSum first, large logits cancel it away
            double wt = w is null ? 1 : w[target];
            double loss = (1 - eps) * wt * double.CreateChecked(logSum - (z[target] - max));
            if (eps > 0)
            {
                double smooth = 0;
                for (int k = 0; k < c; k++) smooth += (w is null ? 1 : w[k]) * double.CreateChecked(logSum - (z[k] - max));
                loss += smoothPerClass * smooth;
            }
            acc.Add(r, loss);

            T a = T.CreateChecked(acc.Scale * ((1 - eps) * wt + smoothPerClass * weightSum));
            for (int k = 0; k < c; k++) g[k] = g[k] / sum * a;
            g[target] -= T.CreateChecked(acc.Scale * (1 - eps) * wt);
            if (eps > 0)
                for (int k = 0; k < c; k++) g[k] -= T.CreateChecked(acc.Scale * smoothPerClass * (w is null ? 1 : w[k]));
        }
        return acc.Result();
    }
}
