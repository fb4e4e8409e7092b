using System.Numerics;

namespace LstmSharp.Kernels;

/// <summary>
/// What backward needs of one layer in one direction, all time-major. Padded steps (t ≥ length) carry the
/// state through unchanged, so <see cref="C"/> and <see cref="Hs"/> at any step hold the state after it.
/// <para>
/// An inference cache (<see cref="KeepsSteps"/> false) keeps only what the recurrence needs: the gates of one step
/// (<see cref="Gates"/> [B, 4H]; a kernel that projects the inputs of all steps at once uses its own buffer for them),
/// the cell state of two (<see cref="C"/> [2, B, H], step t in slot t mod 2) and, with a projection, m of one; only
/// <see cref="Hs"/> holds every step. Its memory stays in cache from step to step, and it
/// cannot be differentiated. Kernels find a step's rows with <see cref="GatesStep"/>, <see cref="CStep"/> and <see cref="MStep"/>.
/// </para>
/// </summary>
internal readonly struct LstmDirectionCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>A cache with new arrays for the activations.</summary>
    public LstmDirectionCache(T[] x, T[] h0, T[] c0, int steps, int batch, int hidden, int outSize, bool projected)
        : this(x, h0, c0, steps, batch, hidden, outSize, projected, length => new T[length])
    {
    }

    /// <summary>
    /// A cache whose activation arrays come from <paramref name="allocate"/> (any contents: the kernels overwrite them);
    /// with <paramref name="keepSteps"/> false, an inference cache; <paramref name="hs"/>, if given, is used as
    /// <see cref="Hs"/> ([T, B, P]).
    /// </summary>
    public LstmDirectionCache(T[] x, T[] h0, T[] c0, int steps, int batch, int hidden, int outSize, bool projected,
        Func<int, T[]> allocate, bool keepSteps = true, T[]? hs = null)
    {
        X = x;
        H0 = h0;
        C0 = c0;
        KeepsSteps = keepSteps;
        Projected = projected;
        Gates = allocate((keepSteps ? steps : 1) * batch * 4 * hidden);
        C = allocate((keepSteps ? steps : 2) * batch * hidden);
        Hs = hs ?? allocate(steps * batch * outSize);
        M = projected ? allocate((keepSteps ? steps : 1) * batch * hidden) : Hs;
    }

    /// <summary>[T, B, I] the layer's input (after dropout), shared by both directions.</summary>
    public T[] X { get; }

    /// <summary>[B, P] initial hidden state.</summary>
    public T[] H0 { get; }

    /// <summary>[B, H] initial cell state.</summary>
    public T[] C0 { get; }

    /// <summary>[T, B, 4H] gate activations i, f, g, o ([B, 4H] in an inference cache).</summary>
    public T[] Gates { get; }

    /// <summary>[T, B, H] cell state after each step ([2, B, H] in an inference cache).</summary>
    public T[] C { get; }

    /// <summary>
    /// [T, B, H] o * tanh(c) after each step ([B, H] in an inference cache with a projection); the same array as
    /// <see cref="Hs"/> without a projection.
    /// </summary>
    public T[] M { get; }

    /// <summary>[T, B, P] hidden state after each step.</summary>
    public T[] Hs { get; }

    /// <summary>Every step's gates, c and m are kept (for backward); false for an inference cache.</summary>
    public bool KeepsSteps { get; }

    /// <summary>Whether M is its own array (a projection), not <see cref="Hs"/>.</summary>
    public bool Projected { get; }

    /// <summary>The block of <see cref="Gates"/> ([B, 4H] each) that holds step <paramref name="t"/>.</summary>
    public int GatesStep(int t) => KeepsSteps ? t : 0;

    /// <summary>The block of <see cref="C"/> ([B, H] each) that holds step <paramref name="t"/>.</summary>
    public int CStep(int t) => KeepsSteps ? t : t & 1;

    /// <summary>The block of <see cref="M"/> ([B, H] each) that holds step <paramref name="t"/>.</summary>
    public int MStep(int t) => KeepsSteps || !Projected ? t : 0;
}
