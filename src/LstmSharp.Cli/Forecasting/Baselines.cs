namespace LstmSharp.Cli.Forecasting;

/// <summary>
/// Forecasts that need no model, made from the same origin as the model's: everything up to index
/// <c>origin - 1</c> is known, and the next <c>count</c> values are forecast.
/// </summary>
public static class Baselines
{
    /// <summary>
    /// Seasonal naive: each value is the last observed value of the same season, ŷ[origin + h] = y[origin + h - s·k]
    /// with k = ⌊h / s⌋ + 1 (h = 0, 1, ...): for the first season ahead the value one season earlier, and the last observed
    /// season repeated after that (Hyndman &amp; Athanasopoulos's <c>snaive</c>).
    /// </summary>
    public static double[] SeasonalNaive(IReadOnlyList<double> series, int origin, int count, int season)
    {
        Check(series, origin, count);
        if (season < 1) throw new ArgumentOutOfRangeException(nameof(season), season, $"season: expected a period of at least 1, got {season}.");
        if (origin < season)
            throw new ArgumentException($"origin: a seasonal-naive forecast needs a full season ({season}) of history, got {origin} values.", nameof(origin));
        return [.. Enumerable.Range(0, count).Select(h => series[origin + h - season * (h / season + 1)])];
    }

    /// <summary>
    /// Seasonal naive with drift: seasonal naive plus k times the mean seasonal change of the known values (k seasons
    /// ahead), in log space when <paramref name="log"/> (then a growth factor): ẑ[origin + h] = z[origin + h - s·k] +
    /// k·mean(z[t] - z[t - s]) over t &lt; origin, z = log y or y. A series that grows steadily is forecast well by it;
    /// it is what the LSTM's correction is added to when that correction is the training mean.
    /// </summary>
    public static double[] SeasonalNaiveWithDrift(IReadOnlyList<double> series, int origin, int count, int season, bool log)
    {
        Check(series, origin, count);
        if (season < 1) throw new ArgumentOutOfRangeException(nameof(season), season, $"season: expected a period of at least 1, got {season}.");
        if (origin <= season)
            throw new ArgumentException($"origin: a seasonal drift needs more than a season ({season}) of history, got {origin} values.", nameof(origin));
        double Z(double y) => log ? Math.Log(y) : y;
        double drift = 0;
        for (int t = season; t < origin; t++) drift += Z(series[t]) - Z(series[t - season]);
        drift /= origin - season;
        return [.. Enumerable.Range(0, count).Select(h =>
        {
            int k = h / season + 1;
            double z = Z(series[origin + h - season * k]) + k * drift;
            return log ? Math.Exp(z) : z;
        })];
    }

    /// <summary>Last value: every forecast is y[origin - 1] (seasonal naive with season 1).</summary>
    public static double[] LastValue(IReadOnlyList<double> series, int origin, int count)
    {
        Check(series, origin, count);
        if (origin < 1) throw new ArgumentException("origin: a last-value forecast needs at least one known value.", nameof(origin));
        return [.. Enumerable.Repeat(series[origin - 1], count)];
    }

    private static void Check(IReadOnlyList<double> series, int origin, int count)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (origin < 0 || origin > series.Count)
            throw new ArgumentOutOfRangeException(nameof(origin), origin, $"origin: expected 0..{series.Count}, got {origin}.");
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, $"count: expected a non-negative count, got {count}.");
    }
}
