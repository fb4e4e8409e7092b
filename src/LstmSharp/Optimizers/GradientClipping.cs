using System.Numerics;
using LstmSharp.Layers;

namespace LstmSharp.Optimizers;

/// <summary>Gradient clipping, as PyTorch's <c>clip_grad_norm_</c> and <c>clip_grad_value_</c>.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales all gradients by max_norm / (norm + 1e-6) when the global L2 norm exceeds <paramref name="maxNorm"/>.
    /// Returns the norm before clipping.
    /// </summary>
    public static double ClipGradNorm<T>(IEnumerable<Parameter<T>> parameters, double maxNorm) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var ps = parameters.ToArray();
        double sum = 0;
        foreach (var p in ps)
            foreach (var g in p.Grad.Data) sum += double.CreateChecked(g) * double.CreateChecked(g);
        double norm = Math.Sqrt(sum);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1)
        {
            T c = T.CreateChecked(coef);
            foreach (var p in ps)
                for (int i = 0; i < p.Grad.Length; i++) p.Grad.Data[i] *= c;
        }
        return norm;
    }

    /// <summary>Clamps every gradient element into [-clipValue, clipValue].</summary>
    public static void ClipGradValue<T>(IEnumerable<Parameter<T>> parameters, double clipValue) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        T hi = T.CreateChecked(Math.Abs(clipValue));
        foreach (var p in parameters)
            for (int i = 0; i < p.Grad.Length; i++) p.Grad.Data[i] = T.Clamp(p.Grad.Data[i], -hi, hi);
    }
}
