using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Inverted dropout, as PyTorch's <c>nn.Dropout</c>: in training each element is zeroed with probability p and the
/// others scaled by 1/(1-p); in evaluation it is the identity. It has no parameters; its masks come from its own
/// seeded <see cref="Random"/>, whose state a checkpoint saves.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Dropout<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Dropout with probability <paramref name="p"/> in [0, 1] (1 zeroes everything, as PyTorch).</summary>
    public Dropout(double p, ulong seed = 0)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, $"p: expected a probability in [0, 1], got {p}.");
        P = p;
        Random = new Rng(seed);
    }

    /// <summary>The probability of zeroing an element.</summary>
    public double P { get; }

    /// <summary>The generator of the masks.</summary>
    public Rng Random { get; }

    /// <summary>
    /// x (any shape) → y, the same shape. Returns the mask ([same shape] of 0 and 1/(1-p)) that backward needs, or
    /// null when nothing was dropped (evaluation, or p = 0), in which case y is x itself.
    /// </summary>
    public (Tensor<T> Output, T[]? Mask) Forward(Tensor<T> input, bool training)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!training || P == 0) return (input, null);
        var mask = new T[input.Length];                          // [same as input]
        T scale = T.CreateChecked(1.0 / (1.0 - P));
        var y = new T[input.Length];
        for (int i = 0; i < y.Length; i++)
        {
            mask[i] = Random.NextDouble() < P ? T.Zero : scale;
            y[i] = input.Data[i] * mask[i];
        }
        return (new Tensor<T>(y, [.. input.Shape]), mask);
    }

    /// <summary>dL/dx from dL/dy and the mask returned by <see cref="Forward"/> (null: identity).</summary>
    public Tensor<T> Backward(T[]? mask, Tensor<T> dOutput)
    {
        ArgumentNullException.ThrowIfNull(dOutput);
        if (mask is null) return dOutput;
        if (mask.Length != dOutput.Length)
            throw new ArgumentException($"dOutput: expected {mask.Length} elements (the forward input's), got shape {dOutput.ShapeString}.", nameof(dOutput));
        var dx = new T[mask.Length];
        for (int i = 0; i < dx.Length; i++) dx[i] = dOutput.Data[i] * mask[i];
        return new Tensor<T>(dx, [.. dOutput.Shape]);
    }
}
