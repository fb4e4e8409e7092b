using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Losses;

/// <summary>Mean squared error, PyTorch's <c>nn.MSELoss()</c> with reduction mean: L = mean((y - t)²).</summary>
public static class MseLoss
{
    /// <summary>The loss and dL/dy = 2 (y - t) / N.</summary>
    /// <param name="prediction">y, any shape.</param>
    /// <param name="target">t, the same shape.</param>
    public static LossResult<T> Compute<T>(Tensor<T> prediction, Tensor<T> target) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (!prediction.HasShape([.. target.Shape]))
            throw new ArgumentException($"target: expected the prediction's shape {prediction.ShapeString}, got {target.ShapeString}.", nameof(target));
        int n = prediction.Length;
        var grad = new T[n];
        double sum = 0;
        T scale = T.CreateChecked(2.0 / n);
        for (int i = 0; i < n; i++)
        {
            T diff = prediction.Data[i] - target.Data[i];
            sum += double.CreateChecked(diff * diff);
            grad[i] = scale * diff;
        }
        return new LossResult<T>(sum / n, new Tensor<T>(grad, [.. prediction.Shape]));
    }
}
