using System.Numerics;

namespace LstmSharp.Training;

/// <summary>
/// One sequence and what the model should predict from it. A feature sequence of length n is
/// <see cref="Features"/> [n·I] (row-major [n, I]); a language-model sequence is <see cref="Tokens"/> [n].
/// </summary>
/// <param name="Features">[n·I] inputs, or null for a language model.</param>
/// <param name="Tokens">[n] input ids, or null for a feature model.</param>
/// <param name="Target">[O] (regression) or [n·O] (per-step regression) target values, or null.</param>
/// <param name="Label">The class of a classification sample.</param>
/// <param name="Labels">[n] per-step classes (a language model's next tokens), or null.</param>
public sealed record SequenceSample<T>(T[]? Features, int[]? Tokens, T[]? Target, int Label, int[]? Labels)
    where T : unmanaged, IFloatingPointIeee754<T>;
