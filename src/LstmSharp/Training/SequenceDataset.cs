using System.Buffers.Binary;
using System.IO.Hashing;
using System.Numerics;
using System.Runtime.InteropServices;
using LstmSharp.Models;
using LstmSharp.Tensors;

namespace LstmSharp.Training;

/// <summary>
/// Sequences of possibly different lengths with their targets, for one <see cref="ModelKind"/>; every sample is
/// checked when the set is made, and errors name the sample. <see cref="MakeBatch(ReadOnlySpan{int})"/> pads a mini-batch.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class SequenceDataset<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly SequenceSample<T>[] _samples;

    /// <summary>A data set of <paramref name="samples"/> for a model of kind <paramref name="kind"/>.</summary>
    /// <param name="kind">What the samples train.</param>
    /// <param name="inputSize">I, features per step (ignored for a language model).</param>
    /// <param name="outputSize">O: target values per prediction, or classes (vocabulary size for a language model).</param>
    /// <param name="samples">The sequences, each of length at least 1.</param>
    public SequenceDataset(ModelKind kind, int inputSize, int outputSize, IEnumerable<SequenceSample<T>> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind), kind, $"kind: expected one of {string.Join(", ", Enum.GetNames<ModelKind>())}, got {(int)kind}.");
        if (kind != ModelKind.LanguageModel && inputSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, $"inputSize: expected a positive number of features, got {inputSize}.");
        if (outputSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize, $"outputSize: expected a positive size, got {outputSize}.");
        if (kind == ModelKind.Classification && outputSize < 2)
            throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize, $"outputSize: expected at least 2 classes for classification, got {outputSize}.");
        Kind = kind;
        InputSize = kind == ModelKind.LanguageModel ? 0 : inputSize;
        OutputSize = outputSize;
        _samples = samples.ToArray();
        for (int s = 0; s < _samples.Length; s++) Check(_samples[s], s);
    }

    /// <summary>The kind of model the samples train.</summary>
    public ModelKind Kind { get; }

    /// <summary>I (0 for a language model).</summary>
    public int InputSize { get; }

    /// <summary>O, or the number of classes.</summary>
    public int OutputSize { get; }

    /// <summary>The number of sequences.</summary>
    public int Count => _samples.Length;

    /// <summary>The samples.</summary>
    public IReadOnlyList<SequenceSample<T>> Samples => _samples;

    /// <summary>
    /// The set in a few words and a 64-bit hash (XXH3) of everything in it, in order: kind, sizes, and every sample's
    /// features, tokens, targets and labels, each with its length. A resumed training run checks that its data is the
    /// data its checkpoint trained on.
    /// </summary>
    internal string Fingerprint()
    {
        var hash = new XxHash3();
        byte[] word = new byte[4];
        void Int(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(word, value);
            hash.Append(word);
        }
        void Array<TItem>(TItem[]? values) where TItem : unmanaged
        {
            Int(values?.Length ?? -1);
            if (values is not null) hash.Append(MemoryMarshal.AsBytes(values.AsSpan()));
        }
        Int((int)Kind);
        Int(InputSize);
        Int(OutputSize);
        Int(_samples.Length);
        foreach (var s in _samples)
        {
            Array(s.Features);
            Array(s.Tokens);
            Array(s.Target);
            Int(s.Label);
            Array(s.Labels);
        }
        return $"{_samples.Length} sequences, {typeof(T).Name}, xxh3 {hash.GetCurrentHashAsUInt64():x16}";
    }

    /// <summary>Sequence-to-one regression: <paramref name="inputs"/>[s] is [n_s·I], <paramref name="targets"/>[s] is [O].</summary>
    public static SequenceDataset<T> ForRegression(IReadOnlyList<T[]> inputs, int inputSize, IReadOnlyList<T[]> targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        SameCount(inputs.Count, targets.Count, nameof(targets));
        if (targets.Count > 0 && targets[0] is not { Length: > 0 })
            throw new ArgumentException($"targets: targets[0] sets O, the values per sequence; expected at least one value, got {(targets[0] is null ? "null" : "none")}.", nameof(targets));
        int o = targets.Count > 0 ? targets[0].Length : 1;
        return new(ModelKind.Regression, inputSize, o, inputs.Select((x, s) => new SequenceSample<T>(x, null, targets[s], 0, null)));
    }

    /// <summary>Per-step regression: <paramref name="inputs"/>[s] is [n_s·I], <paramref name="targets"/>[s] is [n_s·O].</summary>
    public static SequenceDataset<T> ForSequenceRegression(IReadOnlyList<T[]> inputs, int inputSize, IReadOnlyList<T[]> targets, int outputSize)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        SameCount(inputs.Count, targets.Count, nameof(targets));
        return new(ModelKind.SequenceRegression, inputSize, outputSize, inputs.Select((x, s) => new SequenceSample<T>(x, null, targets[s], 0, null)));
    }

    /// <summary>Classification: <paramref name="inputs"/>[s] is [n_s·I], <paramref name="labels"/>[s] in 0..classes-1.</summary>
    public static SequenceDataset<T> ForClassification(IReadOnlyList<T[]> inputs, int inputSize, IReadOnlyList<int> labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        SameCount(inputs.Count, labels.Count, nameof(labels));
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, $"classes: expected at least 2 classes, got {classes}.");
        return new(ModelKind.Classification, inputSize, classes, inputs.Select((x, s) => new SequenceSample<T>(x, null, null, labels[s], null)));
    }

    /// <summary>
    /// Next-token language modelling over a token stream: windows of <paramref name="length"/> + 1 ids starting every
    /// <paramref name="length"/> ids (the inputs do not overlap; a window's last id is the next one's first), each reading the first <paramref name="length"/> and predicting the next at every step. A shorter tail is kept
    /// when it has at least two ids.
    /// </summary>
    public static SequenceDataset<T> ForLanguageModel(ReadOnlySpan<int> ids, int length, int vocabSize)
    {
        if (length <= 0) throw new ArgumentOutOfRangeException(nameof(length), length, $"length: expected a positive window, got {length}.");
        if (vocabSize <= 0) throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, $"vocabSize: expected a positive vocabulary size, got {vocabSize}.");
        if (ids.Length < 2) throw new ArgumentException($"ids: expected at least 2 tokens to predict one from another, got {ids.Length}.", nameof(ids));
        var samples = new List<SequenceSample<T>>();
        for (long next = 0; next + 1 < ids.Length; next += length)  // long: next + length may pass int.MaxValue
        {
            int start = (int)next, n = Math.Min(length, ids.Length - 1 - start);
            samples.Add(new SequenceSample<T>(null, ids.Slice(start, n).ToArray(), null, 0, ids.Slice(start + 1, n).ToArray()));
        }
        return new(ModelKind.LanguageModel, 0, vocabSize, samples);
    }

    /// <summary>The samples at <paramref name="indices"/>, in that order, as a new data set.</summary>
    public SequenceDataset<T> Subset(IEnumerable<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return new(Kind, InputSize, OutputSize, indices.Select(i => (uint)i < (uint)Count ? _samples[i]
            : throw new ArgumentOutOfRangeException(nameof(indices), i, $"indices: expected each in 0..{Count - 1}, got {i}.")));
    }

    /// <summary>
    /// Splits off a random <paramref name="fraction"/> (at least one sample) as a validation set, reproducibly from
    /// <paramref name="seed"/>; both parts keep the original order.
    /// </summary>
    public (SequenceDataset<T> Train, SequenceDataset<T> Validation) Split(double fraction, ulong seed)
    {
        if (!(fraction > 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, $"fraction: expected a value in (0, 1), got {fraction}.");
        if (Count < 2) throw new InvalidOperationException($"Split: need at least 2 samples to split, have {Count}.");
        int n = Math.Clamp((int)Math.Round(Count * fraction), 1, Count - 1);
        var order = Permutation(Count, new Rng(seed));
        var validation = order.Take(n).Order().ToArray();
        var train = order.Skip(n).Order().ToArray();
        return (Subset(train), Subset(validation));
    }

    /// <summary>Pads the samples at <paramref name="indices"/> into a batch (B = indices, T = the longest).</summary>
    public SequenceBatch<T> MakeBatch(ReadOnlySpan<int> indices) => MakeBatch(indices, recycle: null);

    /// <summary>
    /// <see cref="MakeBatch(ReadOnlySpan{int})"/>, writing the features (and per-step targets) into <paramref name="recycle"/>'s when they have
    /// the same shape: for a caller done with that batch (a training loop), so that each batch does not take new memory.
    /// </summary>
    internal SequenceBatch<T> MakeBatch(ReadOnlySpan<int> indices, SequenceBatch<T>? recycle)
    {
        if (indices.Length == 0) throw new ArgumentException("indices: expected at least one sample.", nameof(indices));
        int b = indices.Length;
        var lengths = new int[b];
        for (int i = 0; i < b; i++)
        {
            if ((uint)indices[i] >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), indices[i], $"indices: expected each in 0..{Count - 1}, got indices[{i}] = {indices[i]}.");
            lengths[i] = Length(_samples[indices[i]]);
        }
        int steps = lengths.Max(), o = OutputSize, inSize = InputSize;
        // Before any product of them wraps: the features [B, T, I], per-step targets [B, T, O], or ids [B, T].
        ShapeUtil.CheckFits(nameof(indices), "the batch's B·T·width", b, steps, Kind == ModelKind.LanguageModel ? 1 : Math.Max(inSize, Kind == ModelKind.SequenceRegression ? o : 1));
        Tensor<T>? features = null, targets = null;
        int[]? tokens = null, labels = null;
        switch (Kind)
        {
            case ModelKind.LanguageModel:
                tokens = new int[b * steps];                                      // [B, T]
                labels = new int[b * steps];                                      // [B, T]
                for (int i = 0; i < b; i++)
                {
                    var s = _samples[indices[i]];
                    s.Tokens.CopyTo(tokens.AsSpan(i * steps));
                    s.Labels.CopyTo(labels.AsSpan(i * steps));
                }
                break;
            default:
                features = Reuse(recycle?.Features, b, steps, inSize);             // [B, T, I]
                for (int i = 0; i < b; i++) PadCopy(_samples[indices[i]].Features, features.Data.AsSpan(i * steps * inSize, steps * inSize));
                if (Kind == ModelKind.Classification)
                {
                    labels = new int[b];                                          // [B]
                    for (int i = 0; i < b; i++) labels[i] = _samples[indices[i]].Label;
                }
                else if (Kind == ModelKind.Regression)
                {
                    targets = Tensor<T>.Zeros(b, o);                              // [B, O]
                    for (int i = 0; i < b; i++) _samples[indices[i]].Target.CopyTo(targets.Data.AsSpan(i * o));
                }
                else
                {
                    targets = Reuse(recycle?.Targets, b, steps, o);               // [B, T, O]
                    for (int i = 0; i < b; i++) PadCopy(_samples[indices[i]].Target, targets.Data.AsSpan(i * steps * o, steps * o));
                }
                break;
        }
        return new SequenceBatch<T>(lengths, steps, features, tokens, targets, labels);
    }

    /// <summary><paramref name="old"/> if it has the shape [B, T, N] (its contents are all overwritten), else a new tensor.</summary>
    private static Tensor<T> Reuse(Tensor<T>? old, int b, int steps, int n) =>
        old is not null && old.HasShape([b, steps, n]) ? old : Tensor<T>.Zeros(b, steps, n);

    /// <summary>One sample's steps into its row of a padded batch, zeros after them.</summary>
    private static void PadCopy(ReadOnlySpan<T> sample, Span<T> row)
    {
        sample.CopyTo(row);
        row[sample.Length..].Clear();
    }

    /// <summary>A uniformly random permutation of 0..n-1 (Fisher–Yates) drawn from <paramref name="rng"/>.</summary>
    public static int[] Permutation(int n, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var order = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    private int Length(SequenceSample<T> s) => Kind == ModelKind.LanguageModel ? s.Tokens!.Length : s.Features!.Length / InputSize;

    private void Check(SequenceSample<T> s, int index)
    {
        string where = $"samples[{index}]";
        if (s is null) throw new ArgumentException($"samples: {where} is null.", "samples");
        if (Kind == ModelKind.LanguageModel)
        {
            if (s.Tokens is null || s.Labels is null || s.Tokens.Length == 0 || s.Labels.Length != s.Tokens.Length)
                throw new ArgumentException($"samples: {where} must hold n >= 1 tokens and n labels, got {s.Tokens?.Length ?? 0} and {s.Labels?.Length ?? 0}.", "samples");
            foreach (var id in s.Tokens.Concat(s.Labels))
                if ((uint)id >= (uint)OutputSize)
                    throw new ArgumentException($"samples: {where} holds token {id}, outside the vocabulary 0..{OutputSize - 1}.", "samples");
            return;
        }
        if (s.Features is null || s.Features.Length == 0 || s.Features.Length % InputSize != 0)
            throw new ArgumentException($"samples: {where} must hold n >= 1 steps of I = {InputSize} features, got {s.Features?.Length ?? 0} values.", "samples");
        int n = s.Features.Length / InputSize;
        switch (Kind)
        {
            case ModelKind.Classification when (uint)s.Label >= (uint)OutputSize:
                throw new ArgumentException($"samples: {where} has label {s.Label}, expected a class in 0..{OutputSize - 1}.", "samples");
            case ModelKind.Regression when s.Target is null || s.Target.Length != OutputSize:
                throw new ArgumentException($"samples: {where} must have O = {OutputSize} target values, got {s.Target?.Length ?? 0}.", "samples");
            case ModelKind.SequenceRegression when s.Target is null || s.Target.Length != (long)n * OutputSize:
                throw new ArgumentException($"samples: {where} must have n·O = {(long)n * OutputSize} target values (n = {n} steps), got {s.Target?.Length ?? 0}.", "samples");
        }
    }

    private static void SameCount(int inputs, int targets, string name)
    {
        if (inputs != targets) throw new ArgumentException($"{name}: expected one per input sequence ({inputs}), got {targets}.", name);
    }
}
