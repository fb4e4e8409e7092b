using System.Numerics;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.IO.Onnx;

/// <summary>The three outputs of an imported model.</summary>
/// <param name="Output">
/// The head's output (after softmax, if any): [B, T, out] or [T, B, out] from a head over the sequence, [B, out] from
/// one over the final hidden state; without a head, the LSTM's output sequence [B, T, D*H] or [T, B, D*H].
/// </param>
/// <param name="HN">The final hidden state [L*D, B, H].</param>
/// <param name="CN">The final cell state [L*D, B, H].</param>
/// <typeparam name="T">Element type.</typeparam>
public sealed record OnnxModelOutput<T>(Tensor<T> Output, Tensor<T> HN, Tensor<T> CN) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// A model read by <see cref="OnnxImporter"/>: the rebuilt LstmSharp modules (embedding, LSTM, head) with the weights
/// converted back to PyTorch's layout, what the graph does with them (<see cref="Options"/>), and the names of the
/// graph's inputs and outputs. <see cref="Forward(Tensor{T}, int[], Tensor{T}, Tensor{T})"/> runs it as the graph would.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class OnnxImportedModel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal OnnxImportedModel(Embedding<T>? embedding, Lstm<T> lstm, Linear<T>? head, OnnxExportOptions options)
    {
        Embedding = embedding;
        Lstm = lstm;
        Head = head;
        Options = options;
    }

    /// <summary>The embedding before the LSTM (a Gather of a constant table), or null: the input is then features.</summary>
    public Embedding<T>? Embedding { get; }

    /// <summary>The LSTM rebuilt from the graph's LSTM nodes (in evaluation mode).</summary>
    public Lstm<T> Lstm { get; }

    /// <summary>The linear head (a Gemm, or MatMul + Add, with constant weights), or null.</summary>
    public Linear<T>? Head { get; }

    /// <summary>
    /// What the graph was found to do: sequence-lengths and initial-state inputs, what the head reads, softmax.
    /// Passing it to <see cref="OnnxExporter"/> with the three modules writes an equivalent model.
    /// </summary>
    public OnnxExportOptions Options { get; }

    /// <summary>The name of the graph input holding the features or token ids.</summary>
    public string InputName { get; internal init; } = "";

    /// <summary>The name of the graph input holding the sequence lengths, or null.</summary>
    public string? LengthsName { get; internal init; }

    /// <summary>The name of the graph input holding h0 [L*D, B, H], or null.</summary>
    public string? H0Name { get; internal init; }

    /// <summary>The name of the graph input holding c0 [L*D, B, H], or null.</summary>
    public string? C0Name { get; internal init; }

    /// <summary>The name of the graph's main output (head, softmax or LSTM output), or null when the graph has none.</summary>
    public string? OutputName { get; internal init; }

    /// <summary>The name of the graph output holding h_n, or null.</summary>
    public string? HNName { get; internal init; }

    /// <summary>The name of the graph output holding c_n, or null.</summary>
    public string? CNName { get; internal init; }

    /// <summary>
    /// Runs LSTM → head → softmax on features ([B, T, I] batch-first or [T, B, I]); for models without an embedding.
    /// <paramref name="lengths"/> [B] (each in 1..T), <paramref name="h0"/> and <paramref name="c0"/> [L*D, B, H] (both or neither).
    /// </summary>
    public OnnxModelOutput<T> Forward(Tensor<T> input, int[]? lengths = null, Tensor<T>? h0 = null, Tensor<T>? c0 = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (Embedding is not null)
            throw new InvalidOperationException("input: this model starts with an embedding; pass token ids to Forward(ids, shape, ...).");
        if (input.Rank != 3 && Head is not null && Options.HeadInput == OnnxHeadInput.FinalHidden)
            throw new ArgumentException($"input: a head on the final hidden state reads a batch, expected rank 3, {(Lstm.Options.BatchFirst ? "[B, T, I]" : "[T, B, I]")} (an unbatched sequence as B = 1), got shape {input.ShapeString}.", nameof(input));
        return Run(input, lengths, h0, c0);
    }

    /// <summary>
    /// Runs embedding → LSTM → head → softmax on token ids of shape [B, T] (batch-first) or [T, B]. With
    /// <paramref name="lengths"/> (each in 1..T), the ids past each sequence's length are padding, ignored whatever they
    /// hold (e.g. -1 or V); the others must lie in 0..V-1. <paramref name="h0"/> and <paramref name="c0"/>: [L*D, B, H].
    /// </summary>
    public OnnxModelOutput<T> Forward(ReadOnlySpan<int> ids, int[] shape, int[]? lengths = null, Tensor<T>? h0 = null, Tensor<T>? c0 = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (Embedding is null)
            throw new InvalidOperationException("ids: this model has no embedding; pass features to Forward(input, ...).");
        if (shape.Length != 2 || shape[0] <= 0 || shape[1] <= 0 || (long)shape[0] * shape[1] != ids.Length)
            throw new ArgumentException($"shape: expected [B, T] or [T, B] (positive) holding the {ids.Length} ids, got {ShapeUtil.Format(shape)}.", nameof(shape));
        if (lengths is null) return Run(Embedding.Forward(ids, shape), lengths, h0, c0);
        bool batchFirst = Lstm.Options.BatchFirst;
        int batch = batchFirst ? shape[0] : shape[1], steps = batchFirst ? shape[1] : shape[0];
        if (lengths.Length != batch)
            throw new ArgumentException($"lengths: expected one length per sequence (B = {batch}), got {lengths.Length}.", nameof(lengths));
        for (int b = 0; b < batch; b++)
            if (lengths[b] < 1 || lengths[b] > steps)
                throw new ArgumentException($"lengths: expected each length in 1..T = {steps}, got lengths[{b}] = {lengths[b]}.", nameof(lengths));
        var looked = ids.ToArray();                                                // padding → id 0, never looked at (the LSTM masks it)
        for (int b = 0; b < batch; b++)
            for (int t = lengths[b]; t < steps; t++) looked[batchFirst ? b * steps + t : t * batch + b] = 0;
        return Run(Embedding.Forward(looked, shape), lengths, h0, c0);
    }

    private OnnxModelOutput<T> Run(Tensor<T> x, int[]? lengths, Tensor<T>? h0, Tensor<T>? c0)
    {
        var r = Lstm.Forward(x, h0, c0, lengths);
        var y = r.Output;
        if (Head is not null)
            y = Head.Forward(Options.HeadInput == OnnxHeadInput.FinalHidden ? FinalHidden(r.HN) : y);
        if (Options.Softmax) y = Softmax(y);
        return new OnnxModelOutput<T>(y, r.HN, r.CN);
    }

    /// <summary>The last layer's rows of h_n [L*D, B, H], directions side by side: [B, D*H].</summary>
    private Tensor<T> FinalHidden(Tensor<T> hn)
    {
        int d = Lstm.Options.NumDirections, h = Lstm.Options.HiddenSize, batch = hn.Dim(1), last = (Lstm.Options.NumLayers - 1) * d;
        var features = Tensor<T>.Zeros(batch, d * h);
        for (int b = 0; b < batch; b++)
            for (int k = 0; k < d; k++)
                hn.Data.AsSpan(((last + k) * batch + b) * h, h).CopyTo(features.Data.AsSpan((b * d + k) * h));
        return features;
    }

    private static Tensor<T> Softmax(Tensor<T> x)
    {
        int n = x.Dim(-1);
        var y = new T[x.Length];
        for (int row = 0; row < x.Length / n; row++)
        {
            var s = x.Data.AsSpan(row * n, n);
            T max = s[0];
            foreach (var v in s) max = T.Max(max, v);
            T sum = T.Zero;
            for (int j = 0; j < n; j++) sum += y[row * n + j] = T.Exp(s[j] - max);
            for (int j = 0; j < n; j++) y[row * n + j] /= sum;
        }
        return new Tensor<T>(y, [.. x.Shape]);
    }
}
