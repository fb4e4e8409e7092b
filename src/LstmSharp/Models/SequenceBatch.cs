using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Models;

/// <summary>
/// A padded mini-batch of B sequences of up to T steps, batch-first, with what the model reads and what it should
/// predict. Steps at or past a sequence's length are padding: the model ignores them and the loss masks them.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class SequenceBatch<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>A batch; exactly one of <paramref name="features"/> and <paramref name="tokens"/> is given, and the targets fit the kind.</summary>
    /// <param name="lengths">[B] valid steps per sequence, each in 0..T (0 only inside a truncated-BPTT chunk past a sequence's end).</param>
    /// <param name="steps">T.</param>
    /// <param name="features">[B, T, I] inputs of a feature model, or null.</param>
    /// <param name="tokens">[B·T] input token ids of a language model (row-major [B, T]), or null.</param>
    /// <param name="targets">[B, O] (regression) or [B, T, O] (per-step regression) target values, or null.</param>
    /// <param name="labels">[B] (classification) or [B·T] (language model) target classes, or null.</param>
    public SequenceBatch(int[] lengths, int steps, Tensor<T>? features = null, int[]? tokens = null, Tensor<T>? targets = null, int[]? labels = null)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        if (lengths.Length == 0) throw new ArgumentException("lengths: expected at least one sequence, got B = 0.", nameof(lengths));
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps: expected T > 0, got {steps}.");
        int b = lengths.Length;
        for (int i = 0; i < b; i++)
            if (lengths[i] < 0 || lengths[i] > steps)
                throw new ArgumentException($"lengths: expected each length in 0..T = {steps}, got lengths[{i}] = {lengths[i]}.", nameof(lengths));
        if ((features is null) == (tokens is null))
            throw new ArgumentException("features: expected exactly one of features (a feature model) and tokens (a language model).", nameof(features));
        if (features is not null && (features.Rank != 3 || features.Dim(0) != b || features.Dim(1) != steps))
            throw new ArgumentException($"features: expected shape [B = {b}, T = {steps}, I], got {features.ShapeString}.", nameof(features));
        long cells = (long)b * steps;  // B·T, which may pass int.MaxValue
        if (tokens is not null && tokens.Length != cells)
            throw new ArgumentException($"tokens: expected B·T = {cells} ids, got {tokens.Length}.", nameof(tokens));
        if (targets is not null && (targets.Rank is not (2 or 3) || targets.Dim(0) != b || targets.Rank == 3 && targets.Dim(1) != steps))
            throw new ArgumentException($"targets: expected shape [B = {b}, O] or [B = {b}, T = {steps}, O], got {targets.ShapeString}.", nameof(targets));
        if (labels is not null && labels.Length != b && labels.Length != cells)
            throw new ArgumentException($"labels: expected B = {b} or B·T = {cells} classes, got {labels.Length}.", nameof(labels));
        _lengths = (int[])lengths.Clone();  // checked above: a copy, so that a later change of the caller's array cannot bypass the check
        Lengths = Array.AsReadOnly(_lengths);
        Steps = steps;
        Features = features;
        Tokens = tokens;
        Targets = targets;
        Labels = labels;
    }

    private readonly int[] _lengths;  // [B]

    /// <summary>B.</summary>
    public int Size => _lengths.Length;

    /// <summary>T, the padded length.</summary>
    public int Steps { get; }

    /// <summary>[B] valid steps per sequence (a copy of the array given, read-only).</summary>
    public IReadOnlyList<int> Lengths { get; }

    /// <summary>The lengths as a span, for the model's loops.</summary>
    internal ReadOnlySpan<int> LengthSpan => _lengths;

    /// <summary>[B, T, I] or null.</summary>
    public Tensor<T>? Features { get; }

    /// <summary>[B·T] or null.</summary>
    public int[]? Tokens { get; }

    /// <summary>[B, O] or [B, T, O], or null.</summary>
    public Tensor<T>? Targets { get; }

    /// <summary>[B] or [B·T], or null.</summary>
    public int[]? Labels { get; }

    /// <summary>The number of valid steps over all sequences.</summary>
    public int ValidSteps => _lengths.Sum();

    /// <summary>
    /// Steps [start, start + count) of every sequence, for truncated BPTT over per-step targets. Lengths are cut to
    /// the chunk (0 for a sequence that ended before it).
    /// </summary>
    public SequenceBatch<T> SliceSteps(int start, int count)
    {
        if (start < 0 || start >= Steps) throw new ArgumentOutOfRangeException(nameof(start), start, $"start: expected 0..{Steps - 1}, got {start}.");
        count = Math.Min(count, Steps - start);
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, $"count: expected a positive number of steps, got {count}.");
        int b = Size;
        var lengths = Lengths.Select(len => Math.Clamp(len - start, 0, count)).ToArray();
        Tensor<T>? SliceTensor(Tensor<T>? t)
        {
            if (t is null) return null;
            int f = t.Dim(2);
            var data = new T[b * count * f];                        // [B, count, F]
            for (int i = 0; i < b; i++)
                t.Data.AsSpan((i * Steps + start) * f, count * f).CopyTo(data.AsSpan(i * count * f));
            return new Tensor<T>(data, b, count, f);
        }
        int[]? SliceIds(int[]? ids)
        {
            if (ids is null) return null;
            var data = new int[b * count];                          // [B, count]
            for (int i = 0; i < b; i++) ids.AsSpan(i * Steps + start, count).CopyTo(data.AsSpan(i * count));
            return data;
        }
        if (Targets is not null && Targets.Rank != 3 || Labels is not null && Labels.Length != b * Steps)
            throw new InvalidOperationException("SliceSteps: truncated BPTT needs per-step targets (per-step regression or a language model); this batch has one target per sequence.");
        return new SequenceBatch<T>(lengths, count, SliceTensor(Features), SliceIds(Tokens), SliceTensor(Targets), SliceIds(Labels));
    }
}
