using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>A lookup table, as PyTorch's <c>nn.Embedding</c>: <c>weight</c> [V, E], initialised N(0, 1).</summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Embedding<T> : Module<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>A table of <paramref name="numEmbeddings"/> rows of size <paramref name="embeddingDim"/>.</summary>
    public Embedding(int numEmbeddings, int embeddingDim, ulong seed = 0)
    {
        if (numEmbeddings <= 0) throw new ArgumentException($"numEmbeddings: expected a positive size, got {numEmbeddings}.", nameof(numEmbeddings));
        if (embeddingDim <= 0) throw new ArgumentException($"embeddingDim: expected a positive size, got {embeddingDim}.", nameof(embeddingDim));
        ShapeUtil.CheckFits(nameof(embeddingDim), "the weight V·E", numEmbeddings, embeddingDim);
        Weight = new Parameter<T>("weight", Tensor<T>.Zeros(numEmbeddings, embeddingDim));
        new Rng(seed).FillNormal<T>(Weight.Value.Data);
    }

    /// <summary>[V, E]</summary>
    public Parameter<T> Weight { get; }

    /// <summary>V.</summary>
    public int NumEmbeddings => Weight.Value.Dim(0);

    /// <summary>E.</summary>
    public int EmbeddingDim => Weight.Value.Dim(1);

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => [Weight];

    /// <summary>The embedding [E] of <paramref name="id"/> (in 0..V-1): its row of the weight, not a copy.</summary>
    public ReadOnlySpan<T> Row(int id)
    {
        if ((uint)id >= (uint)NumEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(id), $"id: expected an id in 0..{NumEmbeddings - 1}, got {id}.");
        return Weight.Value.Data.AsSpan(id * EmbeddingDim, EmbeddingDim);
    }

    /// <summary>ids (any shape S, each in 0..V-1) → [S..., E].</summary>
    public Tensor<T> Forward(ReadOnlySpan<int> ids, params int[] shape)
    {
        CheckIds(ids);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (int d in shape) count = d < 0 || count < 0 ? -1 : Math.Min(count * d, ids.Length + 1L);  // capped: no overflow
        if (shape.Length > 0 && count != ids.Length)
            throw new ArgumentException($"shape: expected dimensions whose product is the number of ids ({ids.Length}), got {ShapeUtil.Format(shape)}.", nameof(shape));
        int e = EmbeddingDim;
        ShapeUtil.CheckFits(nameof(ids), "the output N·E", ids.Length, e);
        var y = new T[ids.Length * e];
        for (int n = 0; n < ids.Length; n++) Row(ids[n]).CopyTo(y.AsSpan(n * e));
        return new Tensor<T>(y, shape.Length == 0 ? [ids.Length, e] : [.. shape, e]);
    }

    /// <summary>Adds dL/dy [N, E] into the rows of the weight's gradient that the ids picked.</summary>
    public void Backward(ReadOnlySpan<int> ids, Tensor<T> dOutput)
    {
        ArgumentNullException.ThrowIfNull(dOutput);
        CheckIds(ids);
        int e = EmbeddingDim;
        if (dOutput.Length != ids.Length * e)
            throw new ArgumentException($"dOutput: expected {ids.Length} x {e} elements, got shape {dOutput.ShapeString}.", nameof(dOutput));
        var dW = Weight.Grad.Data;
        for (int n = 0; n < ids.Length; n++)
        {
            var row = dW.AsSpan(ids[n] * e, e);
            var dy = dOutput.Data.AsSpan(n * e, e);
            for (int k = 0; k < e; k++) row[k] += dy[k];
        }
    }

    private void CheckIds(ReadOnlySpan<int> ids)
    {
        for (int n = 0; n < ids.Length; n++)
            if ((uint)ids[n] >= (uint)NumEmbeddings)
                throw new ArgumentException($"ids: expected each id in 0..{NumEmbeddings - 1}, got ids[{n}] = {ids[n]}.", nameof(ids));
    }
}
