namespace LstmSharp.Schedules;

/// <summary>
/// A learning-rate schedule as a pure function of the step (or epoch) count, so that resuming at step t gives
/// exactly the rate a straight run had. Matches PyTorch's closed forms.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The rate at step <paramref name="step"/> (0-based, ≥ 0) for base rate <paramref name="baseRate"/> (finite, ≥ 0).</summary>
    public double RateAt(long step, double baseRate)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, $"step: expected a step count ≥ 0, got {step}.");
        return Rate(step, Arguments.NonNegative(baseRate, nameof(baseRate)));
    }

    /// <summary>The rate at step <paramref name="step"/> (≥ 0) for base rate <paramref name="baseRate"/> (finite, ≥ 0), both checked.</summary>
    protected abstract double Rate(long step, double baseRate);
}

/// <summary>PyTorch's <c>StepLR</c>: base · γ^⌊t / stepSize⌋.</summary>
public sealed class StepSchedule(int stepSize, double gamma = 0.1) : LearningRateSchedule
{
    private readonly int _stepSize = stepSize > 0 ? stepSize
        : throw new ArgumentException($"stepSize: expected a positive count, got {stepSize}.", nameof(stepSize));

    private readonly double _gamma = Arguments.NonNegative(gamma, nameof(gamma));

    /// <inheritdoc/>
    protected override double Rate(long step, double baseRate) => baseRate * Math.Pow(_gamma, step / _stepSize);
}

/// <summary>PyTorch's <c>ExponentialLR</c>: base · γ^t.</summary>
public sealed class ExponentialSchedule(double gamma) : LearningRateSchedule
{
    private readonly double _gamma = Arguments.NonNegative(gamma, nameof(gamma));

    /// <inheritdoc/>
    protected override double Rate(long step, double baseRate) => baseRate * Math.Pow(_gamma, step);
}

/// <summary>
/// PyTorch's <c>CosineAnnealingLR</c> (closed form): η_min + (base - η_min)(1 + cos(π t / T_max)) / 2. As in PyTorch,
/// past T_max the rate rises again (a cosine of period 2·T_max); set T_max to the run's length to end at η_min.
/// </summary>
public sealed class CosineSchedule(int tMax, double etaMin = 0) : LearningRateSchedule
{
    private readonly int _tMax = tMax > 0 ? tMax
        : throw new ArgumentException($"tMax: expected a positive count, got {tMax}.", nameof(tMax));

    private readonly double _etaMin = Arguments.NonNegative(etaMin, nameof(etaMin));

    /// <inheritdoc/>
    protected override double Rate(long step, double baseRate) =>
        _etaMin + (baseRate - _etaMin) * (1 + Math.Cos(Math.PI * step / _tMax)) / 2;
}

/// <summary>PyTorch's <c>LinearLR</c>, a linear warm-up: base · (start + (end - start) · min(t, n) / n).</summary>
public sealed class LinearWarmupSchedule(int totalSteps, double startFactor = 1.0 / 3, double endFactor = 1.0) : LearningRateSchedule
{
    private readonly int _total = totalSteps > 0 ? totalSteps
        : throw new ArgumentException($"totalSteps: expected a positive count, got {totalSteps}.", nameof(totalSteps));

    private readonly double _start = startFactor is > 0 and <= 1 ? startFactor  // as PyTorch: (0, 1]
        : throw new ArgumentException($"startFactor: expected a factor in (0, 1], got {startFactor}.", nameof(startFactor));

    private readonly double _end = endFactor is >= 0 and <= 1 ? endFactor
        : throw new ArgumentException($"endFactor: expected a factor in [0, 1], got {endFactor}.", nameof(endFactor));

    /// <inheritdoc/>
    protected override double Rate(long step, double baseRate) =>
        baseRate * (_start + (_end - _start) * Math.Min(step, _total) / _total);
}

/// <summary>
/// PyTorch's <c>SequentialLR</c>: the first schedule until the first milestone step, then the second counted from
/// that step, and so on (e.g. a linear warm-up, then a cosine): at step t past milestone m,
/// the rate is the next schedule's at t - m, from the same base rate.
/// </summary>
public sealed class SequentialSchedule : LearningRateSchedule
{
    private readonly LearningRateSchedule[] _schedules;
    private readonly long[] _milestones;

    /// <summary>One more schedule than milestones; milestones positive and increasing.</summary>
    public SequentialSchedule(IReadOnlyList<LearningRateSchedule> schedules, IReadOnlyList<long> milestones)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        ArgumentNullException.ThrowIfNull(milestones);
        if (schedules.Count != milestones.Count + 1)
            throw new ArgumentException($"milestones: expected one fewer than the schedules ({schedules.Count - 1}), got {milestones.Count}.", nameof(milestones));
        if (schedules.Any(s => s is null)) throw new ArgumentException("schedules: expected schedules, got a null one.", nameof(schedules));
        for (int k = 0; k < milestones.Count; k++)
            if (milestones[k] <= (k == 0 ? 0 : milestones[k - 1]))
                throw new ArgumentException($"milestones: expected positive, increasing steps, got [{string.Join(", ", milestones)}].", nameof(milestones));
        _schedules = [.. schedules];
        _milestones = [.. milestones];
    }

    /// <inheritdoc/>
    protected override double Rate(long step, double baseRate)
    {
        int k = 0;
        while (k < _milestones.Length && step >= _milestones[k]) k++;
        return _schedules[k].RateAt(step - (k == 0 ? 0 : _milestones[k - 1]), baseRate);
    }
}
