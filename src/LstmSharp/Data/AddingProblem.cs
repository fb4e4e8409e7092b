using System.Numerics;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Data;

/// <summary>
/// The adding problem of Hochreiter &amp; Schmidhuber (1997, experiment 4) in its common modern form (Le et al. 2015,
/// Arjovsky et al. 2016): each step carries a random value in [0, 1) and a marker; exactly two steps are marked, one
/// in the first half and one in the second, and the target is the sum of the two marked values. Predicting the mean
/// (1) gives an MSE of about 1/6 ≈ 0.167, the variance of the sum; to do better a model must pick the two values out
/// of T and remember the first for up to T - 1 steps.
/// </summary>
public static class AddingProblem
{
    /// <summary>
    /// <paramref name="count"/> sequences of length <paramref name="steps"/> (≥ 2), 2 features per step (value,
    /// marker), one target each, reproducibly from <paramref name="seed"/>.
    /// </summary>
    public static SequenceDataset<T> Generate<T>(int steps, int count, ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (steps < 2) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps: expected T >= 2, got {steps}.");
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, $"count: expected at least one sequence, got {count}.");
        var rng = new Rng(seed);
        var inputs = new List<T[]>(count);
        var targets = new List<T[]>(count);
        int half = steps / 2;
        for (int s = 0; s < count; s++)
        {
            var x = new T[steps * 2];                               // [T, 2]: value, marker
            for (int t = 0; t < steps; t++) x[2 * t] = T.CreateChecked(rng.NextDouble());
            int first = rng.NextInt(half);                       // [0, T/2)
            int second = half + rng.NextInt(steps - half);       // [T/2, T)
            x[2 * first + 1] = T.One;
            x[2 * second + 1] = T.One;
            inputs.Add(x);
            targets.Add([x[2 * first] + x[2 * second]]);
        }
        return SequenceDataset<T>.ForRegression(inputs, 2, targets);
    }
}
