using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using LstmSharp.Layers;

namespace LstmSharp.Optimizers;

/// <summary>Gradient clipping, as PyTorch's <c>clip_grad_norm_</c> and <c>clip_grad_value_</c>.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales all gradients by max_norm / (norm + 1e-6) when their global norm exceeds <paramref name="maxNorm"/>, as
    /// PyTorch's <c>clip_grad_norm_</c>: the L2 norm by default, or the p-norm of <paramref name="normType"/> (any p &gt; 0,
    /// or +∞ for the largest magnitude), of all gradients as one vector, summed in double. Returns the norm before
    /// clipping. As PyTorch, a NaN norm makes every gradient NaN and an infinite one zeroes the finite ones, so a
    /// non-finite gradient is never passed on as if clipped (or, with <paramref name="errorIfNonfinite"/>, an
    /// <see cref="InvalidOperationException"/> is thrown and nothing changes); a max norm of 0 zeroes every gradient.
    /// </summary>
    public static double ClipGradNorm<T>(IEnumerable<Parameter<T>> parameters, double maxNorm, double normType = 2, bool errorIfNonfinite = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0)) throw new ArgumentException($"maxNorm: expected a non-negative norm, got {maxNorm}.", nameof(maxNorm));
        if (!(normType > 0)) throw new ArgumentException($"normType: expected p > 0 or +∞, got {normType}.", nameof(normType));
        var ps = parameters.ToArray();
        CheckEntries(ps, nameof(parameters));
        double norm = Norm(ps, normType);
        if (errorIfNonfinite && !double.IsFinite(norm))
            throw new InvalidOperationException(
                $"The total norm of order {normType} of the gradients is {norm}, so they cannot be clipped (errorIfNonfinite is set); nothing was changed.");
        double coef = maxNorm / (norm + 1e-6);
        if (!(coef >= 1))  // NaN too
        {
            T c = T.CreateChecked(coef);
            foreach (var p in ps) TensorPrimitives.Multiply(p.Grad.Data, c, p.Grad.Data);
        }
        return norm;
    }

    /// <summary>The <paramref name="p"/>-norm of all the gradients as one vector (p = +∞: the largest magnitude; NaN propagates).</summary>
    private static double Norm<T>(Parameter<T>[] ps, double p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (p == 2)
        {
            double squares = 0;
            foreach (var q in ps) squares += SumOfSquares<T>(q.Grad.Data);
            return Math.Sqrt(squares);
        }
        double result = 0;
        foreach (var q in ps)
        {
            var g = q.Grad.Data;
            if (double.IsPositiveInfinity(p))
            {
                if (g.Length > 0) result = Math.Max(result, Math.Abs(double.CreateChecked(TensorPrimitives.MaxMagnitude<T>(g))));  // Math.Max keeps NaN
            }
            else
            {
                foreach (var x in g) result += Math.Pow(Math.Abs(double.CreateChecked(x)), p);
            }
        }
        return double.IsPositiveInfinity(p) ? result : Math.Pow(result, 1 / p);
    }

    /// <summary>Σ x² in double (float32 values widened first), in vectors of doubles with a scalar tail.</summary>
    private static double SumOfSquares<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && typeof(T) == typeof(float))
        {
            var f = MemoryMarshal.Cast<T, float>(x);
            var acc = Vector<double>.Zero;
            for (; i + Vector<float>.Count <= f.Length; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(f.Slice(i)), out var lo, out var hi);
                acc += lo * lo + hi * hi;
            }
            sum = Vector.Sum(acc);
        }
        else if (Vector.IsHardwareAccelerated && typeof(T) == typeof(double))
        {
            var d = MemoryMarshal.Cast<T, double>(x);
            var acc = Vector<double>.Zero;
            for (; i + Vector<double>.Count <= d.Length; i += Vector<double>.Count)
            {
                var v = new Vector<double>(d.Slice(i));
                acc += v * v;
            }
            sum = Vector.Sum(acc);
        }
        for (; i < x.Length; i++) sum += double.CreateChecked(x[i]) * double.CreateChecked(x[i]);
        return sum;
    }

    /// <summary>Clamps every gradient element into [-clipValue, clipValue]; clipValue ≥ 0 (+∞ changes nothing, as in PyTorch; NaN and negatives are refused).</summary>
    public static void ClipGradValue<T>(IEnumerable<Parameter<T>> parameters, double clipValue) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0)) throw new ArgumentException($"clipValue: expected a value >= 0, got {clipValue}.", nameof(clipValue));
        T hi = T.CreateChecked(clipValue);
        var ps = parameters.ToArray();
        CheckEntries(ps, nameof(parameters));
        foreach (var p in ps)
            for (int i = 0; i < p.Grad.Length; i++) p.Grad.Data[i] = T.Clamp(p.Grad.Data[i], -hi, hi);
    }

    private static void CheckEntries<T>(Parameter<T>[] parameters, string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = Array.IndexOf(parameters, null);
        if (k >= 0) throw new ArgumentException($"{name}: entry {k} of {parameters.Length} is null; expected parameters whose gradients to clip.", name);
    }
}
