namespace LstmSharp.Cli.Forecasting;

/// <summary>Forecast errors in the series' own units.</summary>
public static class ErrorMetrics
{
    /// <summary>Root mean squared error, sqrt(mean((ŷ - y)²)).</summary>
    public static double Rmse(IReadOnlyList<double> forecast, IReadOnlyList<double> actual)
    {
        Check(forecast, actual);
        return Math.Sqrt(forecast.Zip(actual, (f, a) => (f - a) * (f - a)).Average());
    }

    /// <summary>Mean absolute error, mean(|ŷ - y|).</summary>
    public static double Mae(IReadOnlyList<double> forecast, IReadOnlyList<double> actual)
    {
        Check(forecast, actual);
        return forecast.Zip(actual, (f, a) => Math.Abs(f - a)).Average();
    }

    private static void Check(IReadOnlyList<double> forecast, IReadOnlyList<double> actual)
    {
        ArgumentNullException.ThrowIfNull(forecast);
        ArgumentNullException.ThrowIfNull(actual);
        if (forecast.Count != actual.Count || forecast.Count == 0)
            throw new ArgumentException($"forecast: expected as many values as actual ({actual.Count}, at least 1), got {forecast.Count}.", nameof(forecast));
    }
}
