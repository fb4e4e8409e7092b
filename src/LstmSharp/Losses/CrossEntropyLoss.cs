using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Losses;

/// <summary>Cross-entropy of logits against class indices, PyTorch's <c>nn.CrossEntropyLoss()</c> with reduction mean.</summary>
public static class CrossEntropyLoss
{
    /// <summary>L = mean over rows of -log softmax(logits)[target]; dL/dlogits = (softmax - onehot) / N.</summary>
    /// <param name="logits">[N, C]</param>
    /// <param name="targets">[N], each in 0..C-1.</param>
    public static LossResult<T> Compute<T>(Tensor<T> logits, ReadOnlySpan<int> targets) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Rank != 2)
            throw new ArgumentException($"logits: expected rank 2 [N, C], got shape {logits.ShapeString}.", nameof(logits));
        int n = logits.Dim(0), c = logits.Dim(1);
        if (targets.Length != n)
            throw new ArgumentException($"targets: expected N = {n} class indices, got {targets.Length}.", nameof(targets));
        var grad = new T[n * c];
        double total = 0;
        T invN = T.One / T.CreateChecked(n);
        for (int r = 0; r < n; r++)
        {
            int target = targets[r];
            if ((uint)target >= (uint)c)
                throw new ArgumentException($"targets: expected each class in 0..{c - 1}, got targets[{r}] = {target}.", nameof(targets));
            var z = logits.Data.AsSpan(r * c, c);
            var g = grad.AsSpan(r * c, c);
            T max = z[0];
            for (int k = 1; k < c; k++) max = T.Max(max, z[k]);
            T sum = T.Zero;
            for (int k = 0; k < c; k++) sum += g[k] = T.Exp(z[k] - max);
            T logSum = T.Log(sum) + max;
            total += double.CreateChecked(logSum - z[target]);
            for (int k = 0; k < c; k++) g[k] = g[k] / sum * invN;
            g[target] -= invN;
        }
        return new LossResult<T>(total / n, new Tensor<T>(grad, n, c));
    }
}
