using System.Numerics;
using LstmSharp.Kernels;

namespace LstmSharp.Layers;

/// <summary>
/// What <see cref="Lstm{T}.Backward"/> needs from one <see cref="Lstm{T}.Forward"/>: each layer's and direction's
/// activations, the dropout masks and the shapes. Opaque to callers; pass it back unchanged.
/// </summary>
public readonly struct LstmCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal LstmCache(Lstm<T> owner, int steps, int batch, bool unbatched, int[] lengths,
        LstmDirectionCache<T>[] directions, T[]?[] dropoutMasks, CacheLease<T> lease)
    {
        Lease = lease;
        Owner = owner;
        Steps = steps;
        Batch = batch;
        Unbatched = unbatched;
        Lengths = lengths;
        Directions = directions;
        DropoutMasks = dropoutMasks;
    }

    internal Lstm<T>? Owner { get; }

    /// <summary>The recycled arrays behind this cache (see <see cref="Lstm{T}.Backward"/> on how long a cache lives).</summary>
    internal CacheLease<T> Lease { get; }

    /// <summary>T of the forward pass.</summary>
    public int Steps { get; }

    /// <summary>B of the forward pass (1 for unbatched input).</summary>
    public int Batch { get; }

    /// <summary>Whether the input was unbatched [T, I].</summary>
    public bool Unbatched { get; }

    /// <summary>[B] valid steps per sequence.</summary>
    internal int[] Lengths { get; }

    /// <summary>[L * D] per layer and direction, index layer * D + direction.</summary>
    internal LstmDirectionCache<T>[] Directions { get; }

    /// <summary>[L - 1] masks [T, B, D * P] applied to each layer's output before the next (null: none).</summary>
    internal T[]?[] DropoutMasks { get; }
}

/// <summary>The outputs of <see cref="Lstm{T}.Forward"/>, with PyTorch's shapes, and the cache for backward.</summary>
/// <param name="Output">[B, T, D*P] (batch-first), [T, B, D*P], or [T, D*P] unbatched: the last layer's h at every step; zeros at padded steps.</param>
/// <param name="HN">[L*D, B, P] (or [L*D, P] unbatched): h after each sequence's last valid step, per layer and direction.</param>
/// <param name="CN">[L*D, B, H] (or [L*D, H] unbatched): the cell state likewise.</param>
/// <param name="Cache">What backward needs.</param>
public readonly record struct LstmResult<T>(Tensors.Tensor<T> Output, Tensors.Tensor<T> HN, Tensors.Tensor<T> CN, LstmCache<T> Cache)
    where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>The gradients that <see cref="Lstm{T}.Backward"/> returns, shaped like the forward arguments.</summary>
/// <param name="Input">dL/d input, the input's shape.</param>
/// <param name="H0">dL/d h0, [L*D, B, P] (or [L*D, P] unbatched), also when h0 was zeros by default.</param>
/// <param name="C0">dL/d c0, [L*D, B, H] (or [L*D, H] unbatched).</param>
public readonly record struct LstmGradients<T>(Tensors.Tensor<T> Input, Tensors.Tensor<T> H0, Tensors.Tensor<T> C0)
    where T : unmanaged, IFloatingPointIeee754<T>;
