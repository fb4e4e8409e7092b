using System.Numerics;

namespace LstmSharp.Kernels;

/// <summary>
/// What backward needs of one layer in one direction, all time-major. Padded steps (t ≥ length) carry the
/// state through unchanged, so <see cref="C"/> and <see cref="Hs"/> at any step hold the state after it.
/// </summary>
internal readonly struct LstmDirectionCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>A cache with new arrays for the activations.</summary>
    public LstmDirectionCache(T[] x, T[] h0, T[] c0, int steps, int batch, int hidden, int outSize, bool projected)
        : this(x, h0, c0, steps, batch, hidden, outSize, projected, length => new T[length])
    {
    }

    /// <summary>A cache whose activation arrays come from <paramref name="allocate"/> (any contents: the kernels overwrite them).</summary>
    public LstmDirectionCache(T[] x, T[] h0, T[] c0, int steps, int batch, int hidden, int outSize, bool projected, Func<int, T[]> allocate)
    {
        X = x;
        H0 = h0;
        C0 = c0;
        Gates = allocate(steps * batch * 4 * hidden);
        C = allocate(steps * batch * hidden);
        Hs = allocate(steps * batch * outSize);
        M = projected ? allocate(steps * batch * hidden) : Hs;
    }

    /// <summary>[T, B, I] the layer's input (after dropout), shared by both directions.</summary>
    public T[] X { get; }

    /// <summary>[B, P] initial hidden state.</summary>
    public T[] H0 { get; }

    /// <summary>[B, H] initial cell state.</summary>
    public T[] C0 { get; }

    /// <summary>[T, B, 4H] gate activations i, f, g, o.</summary>
    public T[] Gates { get; }

    /// <summary>[T, B, H] cell state after each step.</summary>
    public T[] C { get; }

    /// <summary>[T, B, H] o * tanh(c) after each step; the same array as <see cref="Hs"/> without a projection.</summary>
    public T[] M { get; }

    /// <summary>[T, B, P] hidden state after each step.</summary>
    public T[] Hs { get; }
}
