namespace LstmSharp.Schedules;

/// <summary>
/// PyTorch's <c>ReduceLROnPlateau</c> (mode min, relative threshold): after more than <c>patience</c> epochs
/// without a metric better than best · (1 - threshold), multiplies the rate by <c>factor</c> (not below
/// <c>minRate</c>, and never raising a rate already below it) and waits <c>cooldown</c> epochs. Its state is three numbers, saved with a checkpoint.
/// </summary>
public sealed class ReduceOnPlateau
{
    /// <summary>A scheduler with PyTorch's defaults (factor 0.1, patience 10, threshold 1e-4).</summary>
    public ReduceOnPlateau(double factor = 0.1, int patience = 10, double threshold = 1e-4, int cooldown = 0, double minRate = 0)
    {
        if (!(factor > 0 && factor < 1)) throw new ArgumentException($"factor: expected a value in (0, 1), got {factor}.", nameof(factor));
        if (patience < 0) throw new ArgumentException($"patience: expected a non-negative count, got {patience}.", nameof(patience));
        if (!(threshold >= 0 && threshold < 1)) throw new ArgumentException($"threshold: expected a value in [0, 1), got {threshold}.", nameof(threshold));
        if (cooldown < 0) throw new ArgumentException($"cooldown: expected a non-negative count, got {cooldown}.", nameof(cooldown));
        if (!(minRate >= 0)) throw new ArgumentException($"minRate: expected a non-negative rate, got {minRate}.", nameof(minRate));
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        Cooldown = cooldown;
        MinRate = minRate;
    }

    /// <summary>Multiplier on a plateau.</summary>
    public double Factor { get; }

    /// <summary>Epochs without improvement tolerated.</summary>
    public int Patience { get; }

    /// <summary>Relative improvement that counts.</summary>
    public double Threshold { get; }

    /// <summary>Epochs to wait after a reduction.</summary>
    public int Cooldown { get; }

    /// <summary>The floor of the rate.</summary>
    public double MinRate { get; }

    /// <summary>The best metric so far.</summary>
    public double Best { get; set; } = double.PositiveInfinity;

    /// <summary>Epochs since the best.</summary>
    public int BadEpochs { get; set; }

    /// <summary>Cooldown epochs left.</summary>
    public int CooldownLeft { get; set; }

    /// <summary>Takes the epoch's metric and returns the rate to use next.</summary>
    public double Step(double metric, double currentRate)
    {
        if (metric < Best * (1 - Threshold))
        {
            Best = metric;
            BadEpochs = 0;
        }
        else
        {
            BadEpochs++;
        }
        if (CooldownLeft > 0)
        {
            CooldownLeft--;
            BadEpochs = 0;
        }
        if (BadEpochs > Patience)
        {
            // As PyTorch: the new rate only if it is lower by more than eps (1e-8), so a rate already under MinRate stays.
            double reduced = Math.Max(currentRate * Factor, MinRate);
            if (currentRate - reduced > 1e-8) currentRate = reduced;
            CooldownLeft = Cooldown;
            BadEpochs = 0;
        }
        return currentRate;
    }
}
